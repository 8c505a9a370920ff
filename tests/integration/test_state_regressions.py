"""One regression test per defect of the loop's state found in real use (issue 11), numbered as there.

Roles are played by tests/fakes/loop_agent.py, whose answers differ on every
call, or by a person (the built-in manual agent `me`), through the real
``doit`` and ``devloop`` commands.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.loopws import LoopWS, next_lines
from tests.polling import wait_until

P = "plans/a"


@pytest.fixture
def ws(tmp_path: Path) -> LoopWS:
    return LoopWS.create(tmp_path)


def logged_calls(ws: LoopWS) -> int:
    """Calls the agents have logged, whole lines only (each is one write, just before a slow agent sleeps)."""
    return ws.log.read_text().count("\n") if ws.log.exists() else 0


def finish(ws: LoopWS, feature: str = "a") -> None:
    """Run the loop of ``feature`` to its end (no deploy artifacts: smoke waits for a deploy, then passes)."""
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert ws.devloop("deployed", feature).returncode == 0
    assert ws.doit(f"smoke:{feature}").returncode == 0
    r = ws.doit()
    assert r.returncode == 0 and f"Next: nothing  ({feature} has been through the whole loop)" in r.stdout, r.stdout


# -- 1 ---------------------------------------------------------------------------------------------
def test_1_a_gate_passes_only_on_an_approval_however_often_doit_runs(ws: LoopWS) -> None:
    ws.control(risk=True)
    r = ws.doit()
    assert "Step: red_team:a (waiting for approval)" in r.stdout
    assert "Next: devloop approve a red-team" in r.stdout
    n = len(ws.calls())
    for _ in range(3):
        r = ws.doit()
        assert r.returncode == 0 and "Next: devloop approve a red-team" in r.stdout
        assert "implement" not in r.stdout
    assert ws.calls_since(n) == []  # waiting at a gate costs no call either
    gate = ws.lock().gates["red-team"]
    assert gate.pending and gate.by is None
    assert ws.devloop("approve", "a", "red-team").returncode == 0
    r = ws.doit()
    assert "Step: implement:a" in r.stdout
    assert next(s for _, s, _ in ws.calls_since(n)) == "implement"  # the red team was not asked again
    gate = ws.lock().gates["red-team"]
    assert gate.status == "approved" and gate.by


def test_1_the_plan_gate_too(ws: LoopWS) -> None:
    ws.config(extra="steps:\n  plan_review: {max_rounds: 1}\n")
    ws.control(modes={"plan_review": "needs_work"})
    assert "Next: devloop approve a plan" in ws.doit().stdout
    assert "Next: devloop approve a plan" in ws.doit().stdout
    assert ws.lock().record("implement") is None
    assert ws.devloop("approve", "a", "plan").returncode == 0
    assert "Step: implement:a" in ws.doit().stdout


# -- 2 ---------------------------------------------------------------------------------------------
def test_2_redo_of_a_waiting_review_takes_the_answer_and_ends(ws: LoopWS) -> None:
    ws.config(reviewers="[me]")
    r = ws.doit()
    assert "Next: write plans/a/reviews/round1-me.md" in r.stdout
    assert ws.devloop("redo", "a", "code_review").returncode == 0
    r = ws.doit()
    waiting = next_lines(r.stdout)[-1]
    assert waiting.startswith("write plans/a/reviews/round") and waiting.endswith(", then doit")
    answer = waiting.split()[1]
    ws.write(answer, "Read it all.\nVOTE: PRODUCTION GRADE\n")
    r = ws.doit()
    assert "Step: code_review:a\n" in r.stdout, r.stdout  # the answer was used: no round 2, 3, ...
    assert "write plans/a/reviews/" not in r.stdout
    assert ws.lock().steps["code_review"].state == "done"


def test_2_redo_of_the_red_team_runs_it_once_then_the_approval_holds(ws: LoopWS) -> None:
    finish(ws)
    assert ws.devloop("redo", "a", "red_team").returncode == 0  # the plan has no risk tag: forced on
    r = ws.doit()
    assert "Next: devloop approve a red-team" in r.stdout
    assert ws.devloop("approve", "a", "red-team").returncode == 0
    n = len(ws.calls())
    r = ws.doit()
    assert "red_team:a (waiting for approval)" not in r.stdout
    assert not [c for c in ws.calls_since(n) if c[1] == "red_team"]  # the teams' answers were kept
    assert "forced" not in ws.devloop("why", "a").stdout


# -- 3 ---------------------------------------------------------------------------------------------
def test_3_a_bad_check_block_is_asked_again_with_what_was_wrong(ws: LoopWS) -> None:
    ws.control(modes={"plan": "garbage"})
    r = ws.doit()
    assert r.returncode == 1 and "plan:a FAILED: the post-deploy check block is invalid" in r.stdout
    assert "Next: doit  (asks again, with what was wrong)" in r.stdout
    ws.control()
    n = len(ws.calls())
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert ws.calls_since(n)[0] == ("a", "plan", "plan")
    prompt = ws.prompt("plan", "plan")
    assert "## Your previous answer was rejected" in prompt and "check block is invalid" in prompt


def test_3_validation_pass_2_missing_ids_is_asked_again(ws: LoopWS) -> None:
    ws.control(risk=True, modes={"red_team/planner": "garbage"})
    r = ws.doit()
    assert r.returncode == 1 and "still does not reference RT-1" in r.stdout
    ws.control(risk=True)
    n = len(ws.calls())
    r = ws.doit()
    assert "Next: devloop approve a red-team" in r.stdout, r.stdout
    assert ws.calls_since(n) == [("a", "red_team", "validation-pass2-again")]  # teams and pass 1 kept
    assert "still does not reference RT-1" in ws.prompt("red_team", "validation-pass2-again")


def test_3_a_person_fixing_the_file_by_hand_is_taken_as_the_answer(ws: LoopWS) -> None:
    ws.control(modes={"plan": "garbage"})
    assert ws.doit().returncode == 1
    fixed = ws.read(f"{P}/validation.md").replace("    expect:", '    command: {argv: ["true"]}\n    expect:')
    ws.write(f"{P}/validation.md", fixed)
    n = len(ws.calls())
    ws.control()
    assert ws.doit().returncode == 0
    assert ("a", "plan", "plan") not in ws.calls_since(n)


# -- 4 ---------------------------------------------------------------------------------------------
def test_4_what_status_suggests_works_when_typed(ws: LoopWS) -> None:
    ws.config(extra="steps:\n  plan_review: {max_rounds: 1}\n")
    ws.control(modes={"plan_review": "needs_work"})
    ws.doit()
    assert "a: devloop approve a plan" in ws.devloop("status").stdout
    with open(ws.root / f"{P}/plan.md", "a") as fh:
        fh.write("\nA rollback: revert the tag.\n")
    status = ws.devloop("status").stdout
    assert "devloop approve" not in status
    for command in next_lines(status) + next_lines(ws.devloop("why", "a").stdout):
        r = ws.doit(*command.split()[1:]) if command.startswith("doit") else ws.devloop(*command.split()[1:])
        assert r.returncode in (0, 1), f"{command}: {r.stdout}{r.stderr}"
    assert "Next: devloop approve a plan" in ws.doit().stdout  # the edited plan was reviewed again: a new gate
    assert ws.devloop("approve", "a", "plan").returncode == 0


# -- 5 ---------------------------------------------------------------------------------------------
def test_5_a_manual_fix_round_waits_for_the_person(ws: LoopWS) -> None:
    ws.config(implementer="me")
    ws.control(modes={"code_review/reviewers": "needs_work"})
    r = ws.doit()
    assert "Next: write plans/a/deviations.md, scripts/smoke/a.sh" in r.stdout
    ws.write("src/a.py", "print('hello')\n")
    ws.write(f"{P}/deviations.md", "No deviations.\n")
    ws.write("scripts/smoke/a.sh", "#!/bin/sh\nexit 0\n")
    r = ws.doit()
    assert "Step: code_review:a (waiting for a human)" in r.stdout, r.stdout
    # issue 26: first the file the confirmed finding names
    fix = "Next: revise src/a.py, plans/a/deviations.md (prompt: .devloop/prompts/a/code_review-round1-fix.md)"
    assert f"{fix}, then doit" in r.stdout, r.stdout
    assert "Step: code_review:a (waiting for a human)" in ws.doit().stdout  # still, until the person answers
    ws.control()
    ws.write("src/a.py", "import logging\nlogging.info('hello')\n")  # what Next: said: the code
    r = ws.doit()
    assert "Step: code_review:a\n" in r.stdout, r.stdout
    assert "src/a.py" in ws.lock().steps["implement"].outputs
    # the person's edit is that cycle's fix, not a hand edit of implement: reviews.md keeps cycle 1
    assert "implement:a (hand edit adopted" not in r.stdout and ws.lock().steps["implement"].adopted == []
    rec = ws.lock().steps["code_review"]
    assert rec.data["cycles"] == 2 and rec.data["verdict"] == "PRODUCTION_GRADE"
    reviews = ws.read(f"{P}/reviews.md")
    assert "src/a.py" in reviews and reviews.index("NEEDS WORK") < reviews.index("PRODUCTION GRADE")


def test_5_a_manual_implementer_is_asked_again_after_a_plan_edit(ws: LoopWS) -> None:
    ws.config(implementer="me")
    ws.write("src/a.py", "print('hello')\n")
    ws.write(f"{P}/deviations.md", "No deviations.\n")
    ws.write("scripts/smoke/a.sh", "#!/bin/sh\nexit 0\n")
    finish(ws)
    with open(ws.root / f"{P}/plan.md", "a") as fh:
        fh.write("\nAlso log the row count.\n")
    r = ws.doit()
    assert "Step: implement:a (waiting for a human)" in r.stdout, r.stdout
    assert "Next: revise plans/a/deviations.md, scripts/smoke/a.sh" in r.stdout
    ws.write("src/a.py", "print('hello')\nprint('rows: 3')\n")  # the code is the answer
    r = ws.doit()
    assert "Step: implement:a\n" in r.stdout, r.stdout


def test_5_a_manual_evaluator_writes_a_new_evaluation(ws: LoopWS) -> None:
    ws.config(evaluator="me")
    assert ws.doit().returncode == 0
    assert ws.devloop("deployed", "a").returncode == 0 and ws.doit("smoke:a").returncode == 0
    assert "Next: write plans/a/evaluation.md" in ws.doit().stdout
    scores = "plan_quality: 5, review_usefulness: 5, implementation_drift: 5, trigger_correctness: 4"
    ws.write(f"{P}/evaluation.md", f"```yaml\nscores: {{{scores}}}\n```\n")
    assert "Step: evaluate:a\n" in ws.doit().stdout
    with open(ws.root / f"{P}/reviews.md", "a") as fh:
        fh.write("\nA note added by hand.\n")
    r = ws.doit()
    assert "Step: code_review:a (hand edit adopted, no agent called)" in r.stdout
    assert "Step: evaluate:a (waiting for a human)" in r.stdout, r.stdout  # the old evaluation is not reused
    assert "Next: revise plans/a/evaluation.md" in r.stdout


# -- 6 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["serial", "parallel"])
def test_6_ctrl_c_stops_every_agent_records_the_call_and_exits_130(tmp_path: Path, args: tuple[str, ...]) -> None:
    ws = LoopWS.create(tmp_path, features=("a", "b"))
    ws.control(modes={"plan": "slow"}, sleep=60)
    proc = ws.start_doit(*args)
    # Ctrl-C once every planner is inside its call (logged, then asleep): with -n 2, both features' at once.
    planners = 2 if args else 1
    inside = wait_until(lambda: logged_calls(ws) == planners and len(ws.live_agents()) == planners)
    assert inside, f"{planners} planner(s) never ran: {logged_calls(ws)} logged, live {ws.live_agents()}"
    out, err = ws.interrupt(proc)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err and "devloop: interrupted plan:" in err
    assert "No features yet" not in out and "Everything is up to date" not in out
    deadline = time.monotonic() + 5
    while ws.live_agents() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ws.live_agents() == []  # no agent outlives the run
    stopped = [f for f in ("a", "b") if (rec := ws.lock(f).record("plan")) and rec.state == "interrupted"]
    assert stopped == sorted(c["feature"] for c in ws.calls()), err  # every planner stopped in its call
    assert "interrupted by a signal" in ws.read("runs/ledger.jsonl")
    ws.control()
    r = ws.doit()
    assert r.returncode == 0 and "Step: plan:a\n" in r.stdout and "Step: plan:b\n" in r.stdout


def test_6_sigterm_to_doit_alone_stops_its_agents(ws: LoopWS) -> None:
    ws.control(modes={"plan": "slow"}, sleep=60)
    proc = ws.start_doit()
    assert ws.wait_for_agent()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    # Gone well within the agent's own 60 s: stopped by doit, not ended by itself.
    assert wait_until(lambda: ws.live_agents() == [], timeout=5), f"agents outlived doit: {ws.live_agents()}"


# -- 7 ---------------------------------------------------------------------------------------------
def test_7_smoke_runs_only_deployed_features_and_no_agent_step(tmp_path: Path) -> None:
    ws = LoopWS.create(tmp_path, features=("a", "b"))
    ws.control(modes={"b/plan": "garbage"})
    assert ws.doit("deploy_review:a").returncode == 0
    assert ws.doit("plan:b").returncode == 1  # b's plan failed
    assert ws.devloop("deployed", "a").returncode == 0
    ws.write("plans/b/plan.md", "# Written by hand\n")
    ws.control()
    n = len(ws.calls())
    r = ws.doit("smoke")
    assert (
        r.returncode == 0 and "Step: smoke:a\n" in r.stdout and "No deploy recorded, nothing to verify: b" in r.stdout
    )
    assert ws.calls_since(n) == []  # the smoke passed; nothing of b was planned, reviewed or red-teamed
    assert ws.read("plans/b/plan.md") == "# Written by hand\n" and not (ws.root / "plans/b/.history").exists()
    assert ws.devloop("deployed", "b", "--force").returncode == 0
    r = ws.doit("smoke:b")
    assert r.returncode == 1 and "Step: smoke:b (refused: plan:b is" in r.stdout
    assert "Next: doit plan:b" in r.stdout
    assert ws.calls_since(n) == []


# -- 8 ---------------------------------------------------------------------------------------------
def test_8_a_new_agent_for_a_role_is_drift_shown_not_paid_for(ws: LoopWS) -> None:
    finish(ws)
    ws.config(planner="cmd4", reviewers="[cmd3]", implementer="cmd4")
    n = len(ws.calls())
    r = ws.doit()
    assert "Everything is up to date" in r.stdout and ws.calls_since(n) == []
    status = ws.status()["a"]
    drifted = [s for s, st in status.items() if s != "next" and st["state"] == "drifted"]
    assert drifted == ["plan", "plan_review", "red_team", "implement", "code_review", "smoke"]  # roles that changed
    assert status["deploy_review"]["state"] == status["evaluate"]["state"] == "fresh"
    assert status["next"].startswith("devloop redo a --drifted")
    assert "plan: drifted\n  - agent or policy config changed" in ws.devloop("why", "a").stdout
    r = ws.devloop("redo", "a", "--drifted")
    assert r.returncode == 0 and f"{', '.join(f'{s}:a' for s in drifted)} will be regenerated" in r.stdout
    assert ws.doit().returncode == 0
    assert ("a", "plan", "plan") in ws.calls_since(n)


# -- 9 ---------------------------------------------------------------------------------------------
def test_9_a_fired_trigger_without_a_rollback_is_recorded_and_triaged(ws: LoopWS) -> None:
    finish(ws)
    ws.write(".fire-a", "")
    r = ws.devloop("monitor", "a", "--duration", "1s", "--interval", "1s")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FIRED errors (command)" in r.stdout
    assert "no rollback configured, nothing rolled back" in r.stdout and "triage routed to code" in r.stdout
    assert "Next: doit" in r.stdout
    lock = ws.lock()
    assert lock.smoke["fired"]["triggers"] == ["errors"] and "nothing rolled back" in lock.smoke["fired"]["rollback"]
    status = ws.status()["a"]
    assert status["smoke"]["state"] == "failed" and status["implement"]["state"] == "forced"
    run = lock.smoke["fired"]["run"]
    assert "no rollback command configured" in ws.read(f"{run}/rollback.log")
    assert ws.devloop("report", "a").returncode == 0
    assert "(no rollback configured, nothing rolled back)" in ws.read(f"{P}/report.md")
    assert "rollback ran" not in ws.read(f"{P}/report.md")


# -- a hand edit survives an agent's rewrite --------------------------------------------------------
def test_a_hand_edit_of_the_code_is_archived_before_a_fix_round_rewrites_it(ws: LoopWS) -> None:
    assert ws.doit("code_review:a").returncode == 0
    mine = ws.read("src/a.py") + "# kept by hand\n"
    ws.write("src/a.py", mine)
    ws.control(modes={"code_review/reviewers": "needs_work"})
    assert ws.doit("code_review:a").returncode == 0
    assert ws.read("src/a.py") != mine  # the fix round rewrote it...
    kept = [p.read_text() for p in (ws.root / f"{P}/.history").rglob("a.py")]
    assert mine in kept  # ...after keeping the hand edit


# -- 10 --------------------------------------------------------------------------------------------
def test_10_an_emptied_evaluation_is_missing_not_adopted(ws: LoopWS) -> None:
    finish(ws)
    ws.write(f"{P}/evaluation.md", "  \n")
    assert ws.status()["a"]["evaluate"]["state"] == "stale"
    n = len(ws.calls())
    ws.env["DEVLOOP_NO_CACHE"] = "1"  # else the evaluator's earlier answer to the same question is restored
    assert ws.doit().returncode == 0
    assert ws.calls_since(n) == [("a", "evaluate", "evaluate")]
    assert "scores:" in ws.read(f"{P}/evaluation.md")


def test_10_deployed_is_refused_until_the_code_review_passed(ws: LoopWS) -> None:
    ws.control(modes={"plan": "garbage"})
    ws.doit()
    r = ws.devloop("deployed", "a")
    assert r.returncode == 3 and "code_review:a has not passed the current code" in r.stderr
    assert ws.lock().deploy is None
    r = ws.devloop("deployed", "a", "--force")
    assert r.returncode == 0 and "Recorded as forced" in r.stdout
    assert "has not passed" in ws.lock().deploy["forced"]


def test_10_a_second_doit_says_busy_and_nothing_else(ws: LoopWS) -> None:
    ws.control(modes={"plan": "slow"}, sleep=60)
    first = ws.start_doit()
    try:
        assert ws.wait_for_agent()
        second = ws.doit()
        assert second.returncode == 4 and "another devloop or doit run" in second.stderr
        assert second.stdout == ""
    finally:
        ws.interrupt(first)


def test_10_step_lines_name_tasks_as_doit_does(ws: LoopWS) -> None:
    r = ws.doit()
    tasks = set(ws.doit("list", "--all").stdout.split())
    steps = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("Step: ")]
    assert steps and all(s in tasks for s in steps), (steps, tasks)
