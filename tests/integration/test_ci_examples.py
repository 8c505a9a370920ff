"""The CI examples are real, checked files, and the matrix they describe works (simulated on this machine).

- ``examples/ci/devloop.yml`` passes actionlint and is what the guide shows;
- every devloop/doit command the GitHub and GitLab examples run exists;
- the GitLab example's generator writes a valid child pipeline, one job per feature;
- four clones of one workspace each advance one feature and push, as the matrix jobs do; the branches
  merge without conflicts (``runs/ledger.jsonl merge=union``), a fresh clone is up to date with no agent
  call, and an approval made in one clone and pushed is honoured by another and never granted by a run.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, WS, happy_script

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"
GUIDE = ROOT / "docs" / "ci" / "github-actions.md"
FEATURES = ("a", "b", "c", "d")


def test_the_workflow_passes_actionlint_and_is_what_the_guide_shows() -> None:
    actionlint = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
    if actionlint is None and not (sys.platform == "linux" and platform.machine() == "x86_64"):
        pytest.skip("actionlint's wheel (a test dependency) is built for Linux x86_64 only")
    assert actionlint, "actionlint is a test dependency (pyproject.toml)"
    r = subprocess.run([actionlint, str(CI / "devloop.yml")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    guide = GUIDE.read_text()
    assert (CI / "devloop.yml").read_text() in guide
    assert (CI / "commit-feature.sh").read_text() in guide


_COMMAND = re.compile(r'^\s*(?:-\s+|run:\s+|print\("\s*-\s+)?(devloop|doit) ([a-z][\w:\-$]*)(.*)$', re.M)


def _commands(text: str) -> list[list[str]]:
    """Each devloop/doit command line: (tool, subcommand, its --options)."""
    found = []
    for m in _COMMAND.finditer(text):
        rest = m.group(3).split("#", 1)[0]
        options = [t.split("=", 1)[0] for t in rest.split() if t.startswith("-") and len(t) > 1 and t != "-"]
        found.append([m.group(1), m.group(2), *options])
    return found


@pytest.mark.parametrize("name", ["devloop.yml", "gitlab-ci.yml"])
def test_every_command_the_examples_run_exists(name: str) -> None:
    from click.testing import CliRunner

    from devloop.cli.main import cli

    text = (CI / name).read_text()
    yaml.safe_load(text)
    commands = _commands(text)
    assert any(c[0] == "doit" for c in commands) and any(c[0] == "devloop" for c in commands)
    for tool, sub, *options in commands:
        if tool == "doit":
            assert sub.startswith(("evaluate:", "smoke:")), sub
            continue
        r = CliRunner().invoke(cli, [sub, "--help"])
        assert r.exit_code == 0, (sub, r.output)
        for option in options:
            assert option in r.output, (sub, option)


def _workspace(tmp: Path) -> tuple[Path, WS]:
    """A bare origin holding a workspace of four features (d's plan carries a risk tag: a red-team gate)."""
    origin = tmp / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    (tmp / "seed-tmp").mkdir()
    seed = WS(tmp / "seed", tmp / "seed-tmp")
    seed.root.mkdir()
    assert seed.git("init", "-q", "-b", "main").returncode == 0
    assert seed.devloop("init").returncode == 0
    seed.config(red_team="[judge]")
    for f in FEATURES:
        assert seed.devloop("new", f, f"Build {f}").returncode == 0
    (seed.root / ".gitattributes").write_text("runs/ledger.jsonl merge=union\n")
    assert seed.git("add", "-A").returncode == 0
    assert seed.git("commit", "-qm", "four features").returncode == 0
    assert seed.git("remote", "add", "origin", str(origin)).returncode == 0
    assert seed.git("push", "-q", "origin", "main").returncode == 0
    return origin, seed


def _clone(origin: Path, tmp: Path, name: str) -> WS:
    (tmp / f"{name}-tmp").mkdir()
    ws = WS(tmp / name, tmp / f"{name}-tmp")
    subprocess.run(["git", "clone", "-q", str(origin), str(ws.root)], check=True, env=ws.env)
    script: dict = {}
    for f in FEATURES:
        script.update(happy_script(f))
    script["d/plan/plan"]["write"]["plans/d/plan.md"] = "---\nrisk: [iam]\n---\n# Plan\nDo it.\n"
    script["d/plan_review/round1-revise"]["write"]["plans/d/plan.md"] = "---\nrisk: [iam]\n---\n# Plan\nWell.\n"
    script["red_team"] = {"answer": "NO FINDINGS\n"}
    ws.set_script(script)
    return ws


def _job(ws: WS, feature: str) -> subprocess.CompletedProcess[str]:
    """One matrix job: advance the feature, then commit and push what it produced (the example's script)."""
    r = ws.doit(f"evaluate:{feature}")
    assert r.returncode == 0, r.stdout + r.stderr
    push = ws.run(["bash", str(CI / "commit-feature.sh"), feature, f"devloop: advance {feature}"])
    assert push.returncode == 0, push.stdout + push.stderr
    return r


def test_four_clones_advance_four_features_and_merge_into_an_up_to_date_workspace(tmp_path: Path) -> None:
    origin, _ = _workspace(tmp_path)
    clones = {f: _clone(origin, tmp_path, f"job-{f}") for f in FEATURES}
    for f in ("a", "b", "c"):  # each finishes its feature; d stops at its red-team gate
        out = _job(clones[f], f)
        assert f"Step: evaluate:{f}" in out.stdout
    out = _job(clones["d"], "d")
    assert "Step: red_team:d (waiting for approval)" in out.stdout

    fresh = _clone(origin, tmp_path, "fresh")
    log = fresh.run(["git", "log", "--oneline"]).stdout
    assert log.count("devloop: advance") == 4
    r = fresh.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert fresh.calls() == [], "a fresh clone of the merged workspace called an agent"
    assert "red_team:d (waiting for approval)" in r.stdout  # a plain run never grants the approval
    ledger = (fresh.root / "runs" / "ledger.jsonl").read_text().splitlines()
    assert {json.loads(line)["feature"] for line in ledger} == set(FEATURES)  # every job's lines, merged

    # a person approves in their own clone and pushes; the matrix job for d continues from there
    person = _clone(origin, tmp_path, "person")
    r = person.devloop("approve", "d", "red-team")
    assert r.returncode == 0, r.stdout + r.stderr
    assert person.run(["bash", str(CI / "commit-feature.sh"), "d", "approve d red-team"]).returncode == 0
    again = _clone(origin, tmp_path, "job-d-again")
    out = _job(again, "d")
    assert "Step: evaluate:d" in out.stdout, out.stdout
    calls = {(c["feature"], c["step"]) for c in again.calls()}
    assert calls and all(feature == "d" for feature, _ in calls)
    assert ("d", "plan") not in calls and ("d", "red_team") not in calls  # nothing before the gate again

    final = _clone(origin, tmp_path, "final")
    r = final.doit()
    assert "Everything is up to date" in r.stdout and final.calls() == [], r.stdout


def test_the_gitlab_generator_writes_one_child_job_per_feature(ws: WS) -> None:
    ws.add_feature("a")
    ws.add_feature("b-2")
    text = (CI / "gitlab-ci.yml").read_text()
    program = re.search(r"python - <<'PY' > features.yml\n(.*?)\n\s*PY\n", text, re.S)
    assert program, "the generator is a python heredoc in the features job"
    code = "\n".join(line[6:] for line in program.group(1).splitlines())
    env = {**ws.env, "PATH": f"{BIN}:{ws.env.get('PATH', '')}"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ws.root, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    child = yaml.safe_load(r.stdout)
    assert set(child) == {"stages", "advance-a", "advance-b-2"}
    job = child["advance-b-2"]
    assert job["variables"] == {"F": "b-2"} and job["resource_group"] == "devloop-b-2"
    assert "doit evaluate:$F" in job["script"]
