"""Benchmark: the mutation score of the loop's most guarded modules, and why each surviving mutant changes nothing.

    .venv/bin/python bench/mutation.py [--module answers|state|verdicts] [--max-children 2]

Runs mutmut (installed on demand: ``pip install -e '.[mutation]'``) over one
module with its own unit tests, in a copy of the repository (so that the
``[tool.mutmut]`` section can name the module), then prints the score,
killed (timeouts included) over all mutants, and every survivor: each one
listed in the module's EQUIVALENT table below with the reason it cannot
change what the module returns; any other survivor is printed as
UNEXPLAINED, with its diff. Exits 1 when the score is under the module's
target or a survivor is unexplained. It takes minutes on two cores and is
not part of ./scripts/test.

- ``answers``: the answer grammar (devloop/judging/answers.py), target 95%;
- ``state``: the lock's state machine and attempt journal
  (devloop/provenance/state.py), target 90%;
- ``verdicts``: the verdict memo (devloop/provenance/verdicts.py), target 90%.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# mutant -> why it returns the same for every input (checked by reading, and by brute force where said)
ANSWERS_EQUIVALENT = {
    "x__comment_left_open__mutmut_3": "pos = None: str.find(sub, None) starts at 0, as pos = 0 does",
    "x_scan__mutmut_4": "info = None: info is set when a fence opens, before the only read (when it closes)",
    "x_scan__mutmut_5": "info = 'XXXX': as above, overwritten before it is read",
    "x_scan__mutmut_6": "body = None: set to [] when a fence opens, before any append or read",
    "x_scan__mutmut_7": "in_comment = None: only its truth is read, and None is false like False",
    "x_scan__mutmut_9": "quote_open = None: only its truth is read",
    "x_scan__mutmut_12": "opened = None: set to the line number when a fence opens, before it is read",
    "x_scan__mutmut_13": "opened = 1: as above",
    "x_scan__mutmut_45": "quote_open = None in an HTML block: only its truth is read",
    "x_scan__mutmut_56": "fence[1] for fence[0]: a fence is a run of one character (``` or ~~~), so both are the same",
    "x_scan__mutmut_104": "_comment_left_open(line, None): the flag is only tested for truth; None is false like False",
    "x_scan__mutmut_128": (
        "end.search(line) for end.search(line, tag.end()): the line starts with the opening tag, and a closing "
        "tag '</x' cannot begin inside '<x...', so both searches find the same match"
    ),
    "x_scan__mutmut_137": (
        "rstrip('>') for lstrip('>') on a quote line: stripped of spaces, a line is empty after one exactly when "
        "it is all '>' (brute force over '>', ' ', 'x', tab up to 5 characters: no difference)"
    ),
    "x_parse_verifier__mutmut_26": "ambiguity(..., None) for ambiguity(..., []): hits is only tested for truth",
}


STATE_EQUIVALENT: dict[str, str] = {}  # none survive
VERDICTS_EQUIVALENT = {
    "x_stamp_of__mutmut_40": (
        "'XX|XX' for '|' joining the stamp's parts: the stamp is only compared for equality, and both "
        "separators tell the same part lists apart"
    ),
    "xǁVerdictsǁ__init____mutmut_9": "dirty = None at start: only its truth is read, and None is false like False",
    "xǁVerdictsǁ__init____mutmut_12": "live = None at start: only its truth is read",
    "xǁVerdictsǁrecord__mutmut_35": (
        "rstrip(None) for rstrip('/') before dirname: no dependency path ends with '/' or a space, so both "
        "leave it as it is"
    ),
    "xǁVerdictsǁrecord__mutmut_37": "rstrip('XX/XX') for rstrip('/'): as above ('X' never ends a dependency path)",
    "xǁVerdictsǁrecord__mutmut_43": (
        "startswith('XX/XX') for startswith('/') in the stop at the file system's root: reached only when '/' "
        "itself is missing"
    ),
    "xǁVerdictsǁsave__mutmut_27": "fsync=None for fsync=False: the memo is a cache; only a power cut could tell",
    "xǁVerdictsǁsave__mutmut_30": "fsync left to its default (True): as above, durability only",
    "xǁVerdictsǁsave__mutmut_37": "fsync=True: as above",
    "xǁVerdictsǁsave__mutmut_32": "json.dumps without compact separators: the same JSON, a few bytes larger",
    "xǁVerdictsǁsave__mutmut_34": "as above",
}

MODULES = {
    "answers": (
        "devloop/judging/answers.py",
        [
            "tests/test_answers.py",
            "tests/test_answer_rows.py",
            "tests/test_vote_grammar.py",
            "tests/test_reading.py",
            "tests/test_answers_fuzz.py",
            "tests/test_redteam.py",
            "tests/test_triage.py",
        ],
        0.95,
        ANSWERS_EQUIVALENT,
    ),
    "state": (
        "devloop/provenance/state.py",
        ["tests/test_state.py", "tests/test_staleness.py", "tests/test_lockfile.py"],
        0.90,
        STATE_EQUIVALENT,
    ),
    "verdicts": (
        "devloop/provenance/verdicts.py",
        ["tests/test_verdicts.py", "tests/test_coarse_clock.py"],
        0.90,
        VERDICTS_EQUIVALENT,
    ),
}


def copy_for(module: str, tests: list[str], into: Path) -> None:
    """The repository's code, tests and templates in ``into``, with a [tool.mutmut] section for ``module``."""
    for name in ("devloop", "tests", "templates"):
        shutil.copytree(REPO / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    head, _, rest = text.partition("[tool.mutmut]")
    tail = rest[rest.find("\n[", 1) :] if "\n[" in rest[1:] else ""
    selection = "".join(f'  "{t}",\n' for t in tests)
    section = (
        f'[tool.mutmut]\nsource_paths = ["devloop"]\nonly_mutate = ["{module}"]\nalso_copy = ["templates"]\n'
        f"pytest_add_cli_args_test_selection = [\n{selection}]\n"
    )
    (into / "pyproject.toml").write_text(head + section + tail, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", choices=sorted(MODULES), default="answers")
    ap.add_argument("--max-children", default="2")
    ap.add_argument("--keep", action="store_true", help="keep the copy the mutants ran in (its path is printed)")
    args = ap.parse_args()
    module, tests, target, equivalent = MODULES[args.module]
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent))
    if mutmut is None:
        print("installing mutmut (the 'mutation' extra)...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{REPO}[mutation]"], check=True)
        mutmut = str(Path(sys.executable).parent / "mutmut")
    work = Path(tempfile.mkdtemp(prefix=f"devloop-mutants-{args.module}-"))
    try:
        copy_for(module, tests, work)
        return score(mutmut, work, module, target, equivalent, args.max_children)
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def score(mutmut: str, work: Path, module: str, target: float, equivalent: dict[str, str], children: str) -> int:
    run = subprocess.run([mutmut, "run", "--max-children", children], cwd=work, capture_output=True)
    if run.returncode != 0:
        print(run.stdout.decode(errors="replace")[-2000:], run.stderr.decode(errors="replace")[-2000:])
        return 2
    subprocess.run([mutmut, "export-cicd-stats"], cwd=work, capture_output=True, check=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    detected = stats["killed"] + stats["timeout"]
    score = detected / stats["total"]
    print(f"mutants of {module}: {stats['total']}; killed {stats['killed']}, timed out {stats['timeout']}, ")
    print(f"survived {stats['survived']}; score {score:.1%} (target {target:.0%})")
    listing = subprocess.run([mutmut, "results"], cwd=work, capture_output=True, text=True).stdout
    survivors = [line.split(":")[0].strip() for line in listing.splitlines() if line.strip().endswith("survived")]
    unexplained = []
    for name in survivors:
        short = name.rsplit(".", 1)[-1]
        why = equivalent.get(short)
        if why is None:
            unexplained.append(name)
            diff = subprocess.run([mutmut, "show", name], cwd=work, capture_output=True, text=True).stdout
            print(f"UNEXPLAINED {short}\n{diff}")
        else:
            print(f"equivalent  {short}: {why}")
    return 0 if score >= target and not unexplained else 1


if __name__ == "__main__":
    sys.exit(main())
