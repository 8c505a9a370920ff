"""What a step ran with is what it read (issue 26), through the real doit and devloop.

An agent that holds (tests/fakes/loop_agent.py, mode ``hold``) lets the test
edit an input while the step works; the lock must keep the hash the step was
given, and the step must run again. A feature's code stays its change across
re-implementations that leave it alone (a person's fix round: test_state_regressions.py, 5).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from devloop.provenance.hashing import hash_file
from tests.loopws import LoopWS

P = "plans/a"


@pytest.fixture
def ws(tmp_path: Path) -> LoopWS:
    return LoopWS.create(tmp_path)


def finished(ws: LoopWS) -> None:
    r = ws.doit()
    assert r.returncode == 0 and "Step: evaluate:a" in r.stdout, r.stdout + r.stderr


def held(ws: LoopWS, *markers: str, timeout: float = 60) -> Path:
    hold = ws.tmp / "hold"
    deadline = time.monotonic() + timeout
    while not all((hold / f"held-{m}").exists() for m in markers):
        assert time.monotonic() < deadline, f"no agent held for {markers}"
        time.sleep(0.05)
    return hold


def hold_on(ws: LoopWS, modes: dict[str, str]) -> None:
    hold = ws.tmp / "hold"
    hold.mkdir(exist_ok=True)
    for p in hold.iterdir():
        p.unlink()
    ws.control(modes=modes, hold=str(hold))


def release(ws: LoopWS, proc: subprocess.Popen[str]) -> str:
    (ws.tmp / "hold" / "go").write_text("")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    ws.control()
    return out


def append(ws: LoopWS, rel: str, line: str) -> str:
    with open(ws.root / rel, "a", encoding="utf-8") as fh:
        fh.write(line)
    return hash_file(ws.root / rel)


def test_a_source_edit_while_a_reviewer_reads_is_not_recorded_as_reviewed(ws: LoopWS) -> None:
    finished(ws)
    given = hash_file(ws.root / "src/a.py")
    assert ws.devloop("redo", "a", "code_review").returncode == 0
    hold_on(ws, {"code_review/reviewers": "hold"})
    proc = ws.start_doit()
    held(ws, "a-code_review")
    edited = append(ws, "src/a.py", "print('a line the reviewer never saw')\n")
    out = release(ws, proc)
    assert "Step: code_review:a (ran, but src/a.py changed while code_review:a ran" in out, out
    assert "Next: doit  (code_review:a runs again: src/a.py changed while code_review:a ran)" in out, out
    assert "Step: deploy_review" not in out  # its later steps wait: the one Next: says why
    rec = ws.lock().steps["code_review"]
    assert rec.state == "done" and rec.inputs["src/a.py"] == given != edited
    assert ws.status()["a"]["code_review"]["state"] == "stale"
    n = len(ws.calls())
    r = ws.doit()
    assert "Step: code_review:a\n" in r.stdout, r.stdout
    call = next(c for _, step, c in ws.calls_since(n) if step == "code_review")
    assert "a line the reviewer never saw" in ws.prompt("code_review", call)
    assert ws.lock().steps["code_review"].inputs["src/a.py"] == edited
    n = len(ws.calls())
    ws.doit()
    assert ws.calls_since(n) == [] and ws.status()["a"]["code_review"]["state"] == "fresh"


def test_a_plan_edit_while_the_implementer_works_runs_implement_again(ws: LoopWS) -> None:
    hold_on(ws, {"implement": "hold"})
    proc = ws.start_doit()
    held(ws, "a-implement")
    given = hash_file(ws.root / f"{P}/plan.md")
    append(ws, f"{P}/plan.md", "\nAlso log the row count.\n")
    out = release(ws, proc)
    assert f"Step: implement:a (ran, but {P}/plan.md changed while implement:a ran" in out, out
    assert ws.lock().steps["implement"].inputs[f"{P}/plan.md"] == given
    n = len(ws.calls())
    r = ws.doit()
    steps = [step for _, step, _ in ws.calls_since(n)]
    assert steps.index("plan_review") < steps.index("implement") < steps.index("code_review"), steps
    assert "Also log the row count." in ws.prompt("implement", "implement")
    assert "Step: evaluate:a" in r.stdout


def test_with_two_workers_only_the_step_whose_input_moved_runs_again(tmp_path: Path) -> None:
    ws = LoopWS.create(tmp_path, features=("a", "b"))
    hold_on(ws, {"plan_review": "hold"})  # judges of two features run side by side (authors take turns)
    proc = ws.start_doit("-n", "2")
    held(ws, "a-plan_review", "b-plan_review")
    append(ws, "plans/b/plan.md", "\nAlso count rows.\n")
    out = release(ws, proc)
    assert "Step: plan_review:b (ran, but plans/b/plan.md changed while plan_review:b ran" in out, out
    assert "Step: plan_review:a\n" in out and "Step: implement:a\n" in out
    assert "Step: implement:b" not in out
    status = ws.status()
    assert status["a"]["plan_review"]["state"] == "fresh"
    assert status["b"]["plan_review"]["state"] == "stale"
    n = len(ws.calls())
    ws.doit("-n", "2")
    again = {(f, step) for f, step, _ in ws.calls_since(n)}
    assert {("b", "plan_review"), ("b", "implement")} <= again and ("a", "plan_review") not in again


def test_the_feature_code_stays_in_its_change_after_a_re_implementation_that_leaves_it(ws: LoopWS) -> None:
    finished(ws)
    assert ws.run(["git", "add", "-A"]).returncode == 0
    assert ws.run(["git", "commit", "-qm", "feature a"]).returncode == 0
    base = ws.lock().steps["implement"].data["base_commit"]
    append(ws, f"{P}/plan.md", "\nAlso log the row count.\n")
    ws.control(modes={"implement": "keep_code"})
    r = ws.doit()
    assert "Step: evaluate:a" in r.stdout, r.stdout
    impl = ws.lock().steps["implement"]
    assert "src/a.py" in impl.outputs and impl.data["base_commit"] == base
    review = ws.prompt("code_review", [c for _, s, c in ws.calls_since(0) if s == "code_review"][-1])
    assert "src/a.py" in review and 'print("hello")' in review  # the code, diffed against where it began
    assert ws.devloop("report", "a").returncode == 0
    assert "src/a.py" in ws.read(f"{P}/report.md")
    ws.control()
    append(ws, "src/a.py", "print('by hand')\n")
    n = len(ws.calls())
    r = ws.doit()
    assert "Step: implement:a (hand edit adopted" in r.stdout, r.stdout
    assert any(step == "code_review" for _, step, _ in ws.calls_since(n))


def test_redo_fresh_starts_the_change_over_from_the_commit_checked_out_now(ws: LoopWS) -> None:
    finished(ws)
    assert ws.run(["git", "add", "-A"]).returncode == 0
    assert ws.run(["git", "commit", "-qm", "feature a"]).returncode == 0
    head = ws.run(["git", "rev-parse", "HEAD"]).stdout.strip()
    r = ws.devloop("redo", "a", "code_review", "--fresh")
    assert r.returncode != 0 and "implement step only" in r.stderr
    assert ws.devloop("redo", "a", "implement", "--fresh").returncode == 0
    ws.control(modes={"implement": "keep_code"})
    ws.doit()
    impl = ws.lock().steps["implement"]
    assert "src/a.py" not in impl.outputs and impl.data["base_commit"] == head


def test_a_person_is_asked_again_when_what_changed_since_an_older_prompt_is_not_their_answer(ws: LoopWS) -> None:
    """The walk saved with a prompt belongs to that attempt: an agent's work since is no answer to a new prompt."""
    ws.config(implementer="me")
    assert "Step: implement:a (waiting for a human)" in ws.doit().stdout  # the prompt's walk is saved
    ws.config(implementer="cmd")
    r = ws.doit()
    assert "Step: implement:a\n" in r.stdout, r.stdout  # the agent answered in the person's place
    assert not list((ws.root / ".devloop/waits/a").glob("implement-*.json"))
    ws.config(implementer="me")
    append(ws, f"{P}/plan.md", "\nAlso log the row count.\n")
    r = ws.doit()
    assert "Step: implement:a (waiting for a human)" in r.stdout, r.stdout
    assert "Next: revise plans/a/deviations.md, scripts/smoke/a.sh" in r.stdout
