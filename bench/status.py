"""Benchmark: what an up-to-date ``doit`` and ``devloop status`` cost, against bare doit.

    .venv/bin/python bench/status.py [--features 100] [--repeat 5] [--jobs 2] [--keep] [--profile] [--no-bytecode]

In a temporary folder it builds two workspaces of the same shape:

- ``devloop/``: a real devloop workspace with N features, every role played by
  a ``replay`` agent reading recorded answers. It is brought up to date the
  honest way, by running the whole loop once with ``doit`` (timed).
- ``bare/``: a plain doit workspace, per feature five chained tasks with
  ``file_dep`` and ``targets`` whose actions concatenate small files, run once
  so that doit's state is recorded.

Then it times (median and min of ``--repeat`` runs, interleaved) the no-op
``doit`` in both and ``devloop status`` in the devloop one, and prints the
ratios devloop-noop / bare-noop (the tracked figure; target <= 1.3) and
status / bare-noop. It also says whether the devloop no-op imported
``google`` (``-X importtime``) or other heavy packages. It prints figures and
asserts nothing about time; it exits non-zero only when a workspace is not
what it should be (a run failed, or the no-op was not a no-op).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

STEPS = ("plan", "plan_review", "red_team", "implement", "code_review", "deploy_review", "evaluate")
HEAVY = ("google", "pydantic", "jinja2", "yaml", "rich", "matplotlib")  # packages the no-op should not need
BIN = Path(sys.executable).parent


class BenchError(Exception):
    """A workspace is not in the state the benchmark needs."""


# -- commands ---------------------------------------------------------------
def _tool(name: str, module: str) -> list[str]:
    """The console script next to this interpreter, else ``python -m module``."""
    exe = BIN / name
    if exe.is_file() and os.access(exe, os.X_OK):
        return [str(exe)]
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", module]


DOIT = _tool("doit", "doit")
DEVLOOP = _tool("devloop", "devloop.cli.main")


PYCACHE: Path | None = None  # set by main(): bytecode of every child goes there


@contextlib.contextmanager
def workdir(prefix: str, keep: bool, where: str | None = None) -> Iterator[Path]:
    """A temporary folder for a bench's workspaces (removed unless ``keep``; in ``where``, else in $TMPDIR),
    and one for their bytecode."""
    global PYCACHE
    PYCACHE = Path(tempfile.mkdtemp(prefix="devloop-bench-pyc-"))
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=where))
    try:
        yield tmp
    finally:
        if keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(PYCACHE, ignore_errors=True)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVLOOP_")}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if PYCACHE is not None:
        # As on a user's machine, modules load from bytecode, not from source every run; the
        # prefix keeps the bench from writing __pycache__ folders into the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["NO_COLOR"] = "1"
    return env


def run(argv: list[str], cwd: Path, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise BenchError(
            f"`{' '.join(argv)}` in {cwd} exited {done.returncode}\n"
            f"--- stdout (tail) ---\n{_tail(done.stdout)}\n--- stderr (tail) ---\n{_tail(done.stderr)}"
        )
    return done


def leave(tmp: Path, keep: bool) -> None:
    """At a bench's end: its temp folder is removed, or kept (``--keep``) and named."""
    if keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def _tail(text: str, n: int = 40) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join(lines[-n:]) if lines else "(empty)"


# -- the devloop workspace --------------------------------------------------
def feature_names(n: int) -> list[str]:
    return [f"feat-{i:04d}" for i in range(n)]


def fence(path: str, body: str) -> str:
    return f"```file={path}\n{body.rstrip()}\n```\n"


DEVLOOP_YAML = """\
# bench: every role is played by a replay agent reading recorded/. Authors,
# judges and reviewers are three seats (distinct models): devloop refuses an
# agent judging its own work.
agents:
  rec: {kind: replay, dir: recorded, model: bench-author}
  jud: {kind: replay, dir: recorded, model: bench-judge}
  rev: {kind: replay, dir: recorded, model: bench-reviewer}
roles:
  planner: rec
  plan_reviewer: jud
  implementer: rec
  verifier: jud
  gcp_reviewer: jud
  triage: jud
  evaluator: jud
  red_team: [jud]
  reviewers: [rev]
"""

EVALUATION = """\
The run did what the brief asked.

```yaml
scores:
  plan_quality: 4
  review_usefulness: 4
  implementation_drift: 4
  trigger_correctness: 4
findings: []
```
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_devloop_workspace(root: Path, features: list[str]) -> None:
    write(root / "dodo.py", "from devloop.tasks import setup\n\nsetup(globals())\n")
    write(root / "devloop.yaml", DEVLOOP_YAML)
    rec = root / "recorded"
    # Answers that name no path are shared by every feature (the replay agent's fallback).
    for k in range(1, 31):  # later rounds too: bench/scale.py edits a plan and the review runs again
        write(rec / "plan_review" / f"round{k}-review.md", "The plan covers the brief.\n\nVERDICT: APPROVE\n")
        write(rec / "code_review" / f"round{k}-rev.md", "Clean and tested.\n\nVOTE: PRODUCTION GRADE\n")
    write(rec / "evaluate" / "evaluate.md", EVALUATION)
    for f in features:
        ident = f.replace("-", "_")
        write(root / "plans" / f / "brief.md", f"# {f}\n\nAdd a function `{ident}()` that returns {f!r}.\n")
        plan = (
            fence(
                f"plans/{f}/plan.md",
                f"# Plan: {f}\n\n1. Write `src/{f}.py` with `{ident}()`.\n"
                f"2. Smoke-test it from `scripts/smoke/{f}.sh`.",
            )
            + "\n"
            + fence(f"plans/{f}/validation.md", f"# Validation: {f}\n\n- `scripts/smoke/{f}.sh` exits 0.")
        )
        write(rec / f / "plan" / "plan.md", f"Here is the plan.\n\n{plan}")
        impl = (
            fence(f"plans/{f}/deviations.md", "No deviations.")
            + "\n"
            + fence(f"scripts/smoke/{f}.sh", "#!/bin/sh\nset -e\npython3 -c \"import sys; sys.path.insert(0, 'src')\"")
            + "\n"
            + fence(f"src/{f}.py", f'def {ident}() -> str:\n    return "{f}"')
        )
        write(rec / f / "implement" / "implement.md", f"Done.\n\n{impl}")


def first_run(root: Path, jobs: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    argv = [*DOIT, *(["-n", str(jobs)] if jobs > 1 else [])]
    t0 = time.perf_counter()
    # DEVLOOP_WAIT stays unset: a step that cannot take the workspace lock fails fast instead of hanging.
    done = run(argv, root, check=False, timeout=1800)
    return time.perf_counter() - t0, done


def _failed(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode != 0 or any(
        line.startswith("Step:") and ("FAILED" in line or line.endswith(" ERROR")) for line in done.stdout.splitlines()
    )


def bring_up_to_date(root: Path, features: list[str], jobs: int) -> tuple[float, str]:
    """Run the whole loop once on a fresh workspace; returns the wall time and the doit command used.

    When ``doit -n JOBS`` fails, the failure is printed (it is devloop's, to be fixed
    there), the workspace is generated anew and the loop is run with plain ``doit``.
    """
    make_devloop_workspace(root, features)
    took, done = first_run(root, jobs)
    if jobs > 1 and _failed(done):
        first = next((line for line in done.stdout.splitlines() if "FAILED" in line or " ERROR" in line), "")
        print(f"WARNING: `doit -n {jobs}` failed in the devloop workspace after {took:.2f} s (exit {done.returncode}):")
        print(f"  {first or _tail(done.stderr, 3)}")
        print("  (a devloop bug, not the bench's; regenerating the workspace and running plain `doit`)")
        shutil.rmtree(root)
        make_devloop_workspace(root, features)
        jobs = 1
        took, done = first_run(root, jobs)
    if _failed(done):
        raise BenchError(
            f"bringing the devloop workspace up to date with `doit{f' -n {jobs}' if jobs > 1 else ''}` failed "
            f"(exit {done.returncode})\n--- stdout (tail) ---\n{_tail(done.stdout)}\n"
            f"--- stderr (tail) ---\n{_tail(done.stderr)}"
        )
    return took, "doit" + (f" -n {jobs}" if jobs > 1 else "")


def check_devloop_fresh(root: Path, features: list[str]) -> None:
    import json

    out = run([*DOIT], root).stdout
    if "Everything is up to date" not in out:
        raise BenchError(f"the second `doit` was not a no-op:\n{_tail(out)}")
    data = json.loads(run([*DEVLOOP, "status", "--json"], root).stdout)
    stale = [
        f"{f}:{s} {st['state']} {st['reasons']}"
        for f, steps in data.items()
        for s, st in steps.items()
        if isinstance(st, dict)
    ]
    # smoke waits for a deploy that a benchmark never makes; everything else must be fresh
    stale = [x for x in stale if " fresh " not in x and ":smoke new " not in x]
    if sorted(data) != features or stale:
        raise BenchError("devloop status --json is not all fresh:\n" + "\n".join(stale[:20]))


# -- the bare doit workspace ------------------------------------------------
BARE_DODO = '''\
"""Bare doit, same shape as the devloop workspace: per feature 7 chained file tasks."""
from pathlib import Path

DOIT_CONFIG = {
    "default_tasks": ["plan", "plan_review", "red_team", "implement", "code_review", "deploy_review", "evaluate"],
    "backend": "json",  # as devloop's dodo.py configures it
    "dep_file": ".doit.json",
    "verbosity": 1,
}


def concat(step, targets, dependencies):
    body = "".join(Path(d).read_text() for d in sorted(dependencies))
    for t in targets:
        Path(t).parent.mkdir(parents=True, exist_ok=True)
        Path(t).write_text(f"# {step}: {t}\\n{body}")


def task_bare():
    features = sorted(p.name for p in Path("plans").iterdir() if (p / "brief.md").is_file())
    for f in features:
        d = f"plans/{f}"
        chain = [
            ("plan", [f"{d}/brief.md"], [f"{d}/plan.md", f"{d}/validation.md"]),
            ("plan_review", [f"{d}/brief.md", f"{d}/plan.md", f"{d}/validation.md"], [f"{d}/review-round1.md"]),
            ("red_team", [f"{d}/brief.md", f"{d}/plan.md", f"{d}/validation.md"], [f"{d}/red-team.txt"]),
            ("implement", [f"{d}/plan.md", f"{d}/validation.md", f"{d}/red-team.txt"],
             [f"{d}/deviations.md", f"scripts/smoke/{f}.sh", f"src/{f}.py"]),
            ("code_review", [f"{d}/plan.md", f"{d}/validation.md", f"{d}/deviations.md",
                             f"scripts/smoke/{f}.sh", f"src/{f}.py"], [f"{d}/reviews.md"]),
            ("deploy_review", [f"{d}/plan.md", f"{d}/reviews.md"], [f"{d}/review-gcp.txt"]),
            ("evaluate", [f"{d}/brief.md", f"{d}/plan.md", f"{d}/validation.md", f"{d}/review-round1.md",
                          f"{d}/deviations.md", f"scripts/smoke/{f}.sh", f"src/{f}.py", f"{d}/reviews.md",
                          f"{d}/review-gcp.txt"],
             [f"{d}/evaluation.md"]),
        ]
        for step, deps, targets in chain:
            yield {
                "basename": step,
                "name": f,
                "actions": [(concat, [step])],
                "file_dep": deps,
                "targets": targets,
            }
'''


def make_bare_workspace(root: Path, features: list[str]) -> None:
    write(root / "dodo.py", BARE_DODO)
    for f in features:
        write(root / "plans" / f / "brief.md", f"# {f}\n\nAdd a function that returns {f!r}.\n")


def bring_bare_up_to_date(root: Path, n: int) -> float:
    t0 = time.perf_counter()
    run([*DOIT], root)
    took = time.perf_counter() - t0
    out = run([*DOIT], root).stdout
    ran = [line for line in out.splitlines() if line.startswith(".  ")]
    skipped = [line for line in out.splitlines() if line.startswith("-- ")]
    if ran or len(skipped) != len(STEPS) * n:
        raise BenchError(f"the bare no-op ran {len(ran)} task(s) and skipped {len(skipped)} of {len(STEPS) * n}")
    return took


# -- measuring ----------------------------------------------------------------
def time_commands(commands: dict[str, tuple[list[str], Path]], repeat: int) -> dict[str, list[float]]:
    """Wall time of each command, ``repeat`` times, interleaved so drift hits all alike."""
    for argv, cwd in commands.values():  # warm-up: page cache, __pycache__ of dodo.py
        run(argv, cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, (argv, cwd) in commands.items():
            t0 = time.perf_counter()
            run(argv, cwd)
            times[name].append(time.perf_counter() - t0)
    return times


def import_report(root: Path) -> tuple[dict[str, bool], list[tuple[float, str]]]:
    """Which heavy packages the devloop no-op imports, and its costliest top-level imports."""
    done = run([sys.executable, "-X", "importtime", "-m", "doit"], root)
    imported: set[str] = set()
    top: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        try:
            _, cumulative, name = line.removeprefix("import time:").split("|")
            us = int(cumulative)
        except ValueError:
            continue
        module = name.strip()
        imported.add(module.split(".")[0])
        if not name.startswith("  "):  # nesting is indented by two spaces a level: this one is top-level
            root_name = module.split(".")[0]
            top[root_name] = top.get(root_name, 0.0) + us / 1e6
    heavy = {h: h in imported for h in HEAVY}
    heavy["google"] = "google" in done.stderr
    return heavy, sorted(((t, m) for m, t in top.items()), reverse=True)[:8]


PROFILE_RUNNER = """\
import cProfile, io, pstats, sys
from doit.doit_cmd import DoitMain
top = int(sys.argv[1])  # read before sys.argv becomes a plain doit's
sys.argv = ["doit"]  # as the command line of a plain doit (devloop builds what it can reach)
prof = cProfile.Profile()
out = sys.stdout
sys.stdout = io.StringIO()
try:
    prof.runcall(DoitMain().run, [])
finally:
    sys.stdout = out
for key in ("cumulative", "tottime"):
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats(key).print_stats(top)
    print(s.getvalue())
    print("=====")
"""


def profile_noop(root: Path, top: int = 10) -> str:
    """cProfile of the devloop no-op (in a child process so state stays clean): top by cumulative, by own time."""
    done = run([sys.executable, "-c", PROFILE_RUNNER, str(top)], root)
    out = []
    for key, part in zip(("cumulative", "own time"), done.stdout.split("====="), strict=False):
        lines = part.splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        head = [line.strip() for line in lines[:start] if "function calls" in line]
        out += [f"top {top} by {key} ({head[0] if head else ''}):", *lines[start : start + top + 1], ""]
    return "\n".join(out).rstrip()


# -- main -------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=int, default=100, help="number of features (default 100)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each command (default 5)")
    ap.add_argument("--jobs", type=int, default=2, help="doit -n for the first, real run (default 2; 1: plain doit)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspaces and print where")
    ap.add_argument("--profile", action="store_true", help="also print cProfile's top 10 entries of the devloop no-op")
    ap.add_argument(
        "--no-bytecode",
        action="store_true",
        help="compile every module from source on every run (as with PYTHONDONTWRITEBYTECODE=1) "
        "instead of caching bytecode in the temp folder",
    )
    args = ap.parse_args(argv)
    if args.features < 1 or args.repeat < 1:
        ap.error("--features and --repeat must be at least 1")

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="devloop-bench-status-"))
    features = feature_names(args.features)
    global PYCACHE
    PYCACHE = None if args.no_bytecode else tmp / "pycache"
    dl, bare = tmp / "devloop", tmp / "bare"
    try:
        print(f"devloop bench: status / no-op, {args.features} features x {len(STEPS)} steps, repeat {args.repeat}")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), doit: {' '.join(DOIT)}")
        print(f"bytecode: {'cached under ' + str(PYCACHE) if PYCACHE else 'none (compiled from source every run)'}")
        took, used = bring_up_to_date(dl, features, args.jobs)
        print(f"devloop first run (`{used}`, {len(STEPS) * args.features} steps, replay agents): {took:.2f} s")
        check_devloop_fresh(dl, features)
        print("devloop second `doit`: Everything is up to date; `devloop status --json`: all fresh")
        make_bare_workspace(bare, features)
        took = bring_bare_up_to_date(bare, args.features)
        print(f"bare doit first run: {took:.2f} s; its second run skipped all {len(STEPS) * args.features} tasks")

        commands = {
            "doit no-op (devloop)": ([*DOIT], dl),
            "devloop status": ([*DEVLOOP, "status"], dl),
            "doit no-op (bare)": ([*DOIT], bare),
        }
        times = time_commands(commands, args.repeat)
        med = {k: statistics.median(v) for k, v in times.items()}
        low = {k: min(v) for k, v in times.items()}
        width = max(len(k) for k in commands)
        print()
        print(f"{'command'.ljust(width)}  {'median s':>9}  {'min s':>7}")
        for name in commands:
            print(f"{name.ljust(width)}  {med[name]:9.3f}  {low[name]:7.3f}")
        base_med, base_min = med["doit no-op (bare)"], low["doit no-op (bare)"]
        print()
        print(
            f"ratio devloop-noop / bare-noop: {med['doit no-op (devloop)'] / base_med:.2f} (median), "
            f"{low['doit no-op (devloop)'] / base_min:.2f} (min)   [tracked; target <= 1.3]"
        )
        print(
            f"ratio status / bare-noop:       {med['devloop status'] / base_med:.2f} (median), "
            f"{low['devloop status'] / base_min:.2f} (min)"
        )

        heavy, top = import_report(dl)
        print()
        print(f"google.cloud imported on the devloop no-op: {'YES' if heavy.pop('google') else 'no'}")
        print("other heavy packages on it: " + ", ".join(f"{k} {'YES' if v else 'no'}" for k, v in heavy.items()))
        print("costliest top-level imports (cumulative): " + ", ".join(f"{m} {t * 1000:.0f} ms" for t, m in top))
        if args.profile:
            print()
            print("cProfile of the devloop no-op:")
            print(profile_noop(dl))
        print()
        print(f"total bench time: {time.perf_counter() - started:.1f} s")
        return 0
    except BenchError as exc:
        print(f"\nbench/status.py: {exc}", file=sys.stderr)
        return 1
    finally:
        leave(tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
