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


@pytest.mark.long
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


# -- the CI guides' smoke jobs, driven on a deploy whose smoke fails ------------------------------------------

GITLAB_GUIDE = ROOT / "docs" / "ci" / "gitlab.md"
_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _yaml_blocks(guide: Path) -> list[dict]:
    return [yaml.safe_load(b) for b in re.findall(r"^```yaml\n(.*?)^```", guide.read_text(), re.S | re.M)]


def _expand(text: str, feature: str) -> str:
    """GitHub's ``${{ }}`` in a step: the matrix feature; a secret is empty here; anything else fails the test."""

    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        if expr == "matrix.feature":
            return feature
        assert expr.startswith("secrets."), f"the smoke job uses an expression this test cannot evaluate: {expr}"
        return ""

    return _EXPR.sub(one, text)


def _stubs(tmp: Path) -> dict[str, str]:
    """The runner's installs are no-ops (devloop and doit are this venv's, on PATH); every call is logged."""
    stubs = tmp / "stubs"
    stubs.mkdir()
    for tool in ("pip", "npm"):
        (stubs / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{tmp}/installs.log"\n')
        (stubs / tool).chmod(0o755)
    return {"PATH": f"{stubs}:{BIN}:{__import__('os').environ['PATH']}"}


def _drive(ws: WS, steps: list[tuple[str, str, bool]], env: dict[str, str]) -> list[tuple[str, int | None, str]]:
    """Run a job's shell steps as its runner does: each in ``bash -eo pipefail``; after a failure only the steps
    that run always; returns (name, exit code or None when skipped, output) per step."""
    results: list[tuple[str, int | None, str]] = []
    failed = False
    for name, script, always in steps:
        if failed and not always:
            results.append((name, None, ""))
            continue
        r = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=ws.root,
            env={**ws.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        results.append((name, r.returncode, r.stdout + r.stderr))
        failed = failed or r.returncode != 0
    return results


def _first_failure(results: list[tuple[str, int | None, str]]) -> tuple[str, int, str] | None:
    """The step that fails the job, as the runner reports it: the first non-zero exit."""
    return next(((n, c, out) for n, c, out in results if c), None)


def _deployed_job_clone(ws: WS, tmp: Path, triage: str | None) -> tuple[Path, WS]:
    """Feature a went through the loop with a smoke script that fails; committed and pushed; a CI job's checkout."""
    if triage:
        ws.config(triage=triage)
    ws.add_feature("a")
    script = happy_script("a")
    script["a/implement/implement"]["write"]["scripts/smoke/a.sh"] = "#!/bin/sh\necho service down\nexit 3\n"
    script["a/smoke/triage"] = {"answer": "The service is down after the deploy.\nROUTE: code\n"}
    ws.set_script(script)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    for where in (".github", "examples/ci"):  # where each guide's job finds the commit script
        (ws.root / where).mkdir(parents=True, exist_ok=True)
        shutil.copy(CI / "commit-feature.sh", ws.root / where / "commit-feature.sh")
    origin = tmp / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    for cmd in (["checkout", "-q", "-B", "main"], ["add", "-A"], ["commit", "-qm", "a, reviewed"]):
        assert ws.git(*cmd).returncode == 0
    assert ws.git("remote", "add", "origin", str(origin)).returncode == 0
    assert ws.git("push", "-q", "origin", "main").returncode == 0
    job = _clone(origin, tmp, "ci-job")
    job.set_script(script)
    return origin, job


def _github_smoke_steps(feature: str) -> tuple[list[tuple[str, str, bool]], dict[str, str]]:
    """The guide's smoke job: its ``run:`` steps (name, script, runs always) and its job env."""
    (workflow,) = [b for b in _yaml_blocks(GUIDE) if isinstance(b, dict) and "jobs" in b]
    job = workflow["jobs"]["smoke"]
    steps = []
    for i, step in enumerate(job["steps"]):
        if "run" not in step:
            continue  # actions (checkout, setup-python, auth): this machine is already that
        always = "always()" in str(step.get("if", ""))
        steps.append((step.get("name", f"step {i}"), _expand(step["run"], feature), always))
    env = {k: _expand(str(v), feature) for k, v in job.get("env", {}).items()}
    return steps, env


@pytest.mark.parametrize("triage", [None, "judge"], ids=["person-triages", "triage-agent"])
def test_the_github_smoke_job_fails_on_a_deploy_whose_smoke_fails(ws: WS, tmp_path: Path, triage: str | None) -> None:
    origin, job = _deployed_job_clone(ws, tmp_path, triage)
    steps, env = _github_smoke_steps("a")
    assert any("doit smoke:" in script for _, script, _ in steps)
    env.update(_stubs(tmp_path), GITHUB_SHA="0123abc", GITHUB_ACTOR="octo", GITHUB_OUTPUT=str(tmp_path / "out"))
    results = _drive(job, steps, env)

    failure = _first_failure(results)
    assert failure is not None, f"the job would be green on a failed smoke run: {results}"
    name, code, out = failure
    assert (name, code) == ("Record the deploy and verify it", 1), out
    assert "Recorded deploy #1 of a (version 0123abc)" in out
    assert "Step: smoke:a FAILED: smoke failed against deploy #1 (round trip 1/3" in out
    if triage is None:  # the manual agent: the step waits for a person, and the job is red all the same
        assert "triage waits for a person" in out and "/triage.md (prompt: .devloop/prompts/a/smoke-triage.md)" in out
        assert job.calls() == []
    else:
        assert "triage routed to code" in out and "Next: doit  (re-runs implement:a as triage asked" in out
        assert [c["step"] for c in job.calls()] == ["smoke"]
    # the commit step runs always: the failed run, its triage and the lock reach the repository
    assert results[-1][1] == 0, results[-1]
    pushed = subprocess.run(
        ["git", "--git-dir", str(origin), "show", "--stat", "--format=%s", "main"], capture_output=True, text=True
    ).stdout
    assert pushed.startswith("devloop: smoke a at 0123abc") and "smoke.log" in pushed and "devloop.lock" in pushed
    assert "pip install devloop" in (tmp_path / "installs.log").read_text()


def test_the_gitlab_smoke_job_fails_on_a_deploy_whose_smoke_fails(ws: WS, tmp_path: Path) -> None:
    """The GitLab guide's smoke job: its ``script:`` lines stop at the first failing command; after_script runs."""
    origin, job = _deployed_job_clone(ws, tmp_path, None)
    (block,) = [b for b in _yaml_blocks(GITLAB_GUIDE) if isinstance(b, dict) and "smoke" in b]
    smoke = block["smoke"]
    variables = {k: str(v).replace("$DEPLOYED_FEATURE", "a") for k, v in smoke["variables"].items()}
    env = {
        **_stubs(tmp_path),
        **variables,
        "DEPLOYED_FEATURE": "a",
        "CI_COMMIT_SHA": "89ab",
        "GITLAB_USER_LOGIN": "lab",
    }
    lines = [*smoke["script"], *smoke["after_script"]]
    assert all(isinstance(line, str) for line in lines), lines  # a `: ` left unquoted makes a line a mapping
    steps = [(line, line, False) for line in smoke["script"]]  # each line checked, as the runner does
    steps += [(f"after_script: {line}", line, True) for line in smoke["after_script"]]
    results = _drive(job, steps, env)

    name, code, out = _first_failure(results) or ("", 0, "")
    assert (name, code) == ('doit smoke:"$F"', 1), results
    assert "smoke failed against deploy #1" in out and "triage waits for a person" in out
    assert results[-1][1] == 0, results[-1]  # after_script ran and pushed the failed run
    log = subprocess.run(["git", "--git-dir", str(origin), "log", "-1", "--format=%s", "main"], capture_output=True)
    assert log.stdout.decode().strip() == "devloop: smoke a at 89ab"


def test_the_gitlab_guide_smoke_job_runs_commands_that_exist() -> None:
    from click.testing import CliRunner

    from devloop.cli.main import cli

    text = GITLAB_GUIDE.read_text()
    commands = _commands(text)
    assert any(c[:2] == ["doit", "smoke:"] for c in commands)
    assert any(c[:2] == ["devloop", "deployed"] for c in commands)
    for tool, sub, *options in commands:
        if tool == "devloop":
            r = CliRunner().invoke(cli, [sub, "--help"])
            assert r.exit_code == 0, (sub, r.output)
            for option in options:
                assert option in r.output, (sub, option)
