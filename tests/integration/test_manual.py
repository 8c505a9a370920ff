"""The zero-setup default: every role is played by a human through files."""

from __future__ import annotations

from tests.conftest import WS


def test_a_human_plays_every_role_through_files(ws: WS) -> None:
    (ws.root / "devloop.yaml").write_text("")  # all defaults: the manual agent "me"
    ws.add_feature("a", script=False)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Step: plan:a (waiting for a human)" in r.stdout
    assert "Next: write plans/a/plan.md, plans/a/validation.md (prompt: .devloop/prompts/a/plan-plan.md)" in r.stdout
    prompt = ws.read(".devloop/prompts/a/plan-plan.md")
    assert "Build a" in prompt and "plans/a/validation.md" in prompt
    assert "plan_review:a" not in r.stdout  # blocked steps stay quiet behind the waiting one

    (ws.root / "plans/a/plan.md").write_text("# Plan\n")
    r = ws.doit()
    assert "Next: write plans/a/validation.md" in r.stdout  # still waiting, for the missing file only
    (ws.root / "plans/a/validation.md").write_text("# Validation\n")
    r = ws.doit()
    assert "Step: plan:a\n" in r.stdout
    assert "Next: write plans/a/review-me-round1.md" in r.stdout

    (ws.root / "plans/a/review-me-round1.md").write_text("Needs a rollback.\nVERDICT: REVISE\n")
    r = ws.doit()
    assert "Next: revise plans/a/plan.md, plans/a/validation.md" in r.stdout
    r = ws.doit()  # nothing changed: still waiting, and the round is not restarted
    assert "Next: revise plans/a/plan.md" in r.stdout
    (ws.root / "plans/a/plan.md").write_text("# Plan\nRollback: revert.\n")
    r = ws.doit()
    assert "Next: write plans/a/review-me-round2.md" in r.stdout

    (ws.root / "plans/a/review-me-round2.md").write_text("VERDICT: APPROVE\n")
    r = ws.doit()
    assert "Next: write plans/a/deviations.md, scripts/smoke/a.sh" in r.stdout
    (ws.root / "plans/a/deviations.md").write_text("No deviations.\n")
    smoke = ws.root / "scripts/smoke/a.sh"
    assert smoke.parent.is_dir()  # made for the human by the manual agent
    smoke.write_text("#!/bin/sh\nexit 0\n")
    r = ws.doit()
    assert "a.sh was not executable; devloop made it so" in r.stdout
    assert smoke.stat().st_mode & 0o100
    assert "Next: write plans/a/reviews/round1-me.md" in r.stdout

    (ws.root / "plans/a/reviews/round1-me.md").write_text("VOTE: PRODUCTION GRADE\n")
    r = ws.doit()
    assert "Next: write plans/a/evaluation.md" in r.stdout
    (ws.root / "plans/a/evaluation.md").write_text("```yaml\nscores: {plan_quality: 2}\n```\n")
    r = ws.doit()
    assert r.returncode == 1
    assert "scores.review_usefulness must be an integer 1-5" in r.stdout
    (ws.root / "plans/a/evaluation.md").write_text(
        "```yaml\nscores: {plan_quality: 5, review_usefulness: 5,\n"
        "  implementation_drift: 5, trigger_correctness: 4}\n```\n"
    )
    r = ws.doit()
    assert r.returncode == 0
    assert "Next: nothing  (a has been through the whole loop)" in r.stdout
    assert "Everything is up to date" in ws.doit().stdout


def test_hand_written_plan_is_adopted_without_calling_the_planner(ws: WS) -> None:
    ws.add_feature("a")
    (ws.root / "plans/a/plan.md").write_text("# Mine\n")
    (ws.root / "plans/a/validation.md").write_text("# Mine too\n")
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert ws.calls_since(0)[0][1] == "plan_review"
    assert ws.read("plans/a/plan.md").startswith("# Plan\nDo it well.")  # revised by the loop, not replaced


def test_a_person_s_answer_is_changed_bytes_not_a_changed_stat(ws: WS) -> None:
    """touch, mtimes set back, a file rewritten as it was: the person wrote nothing, so nothing is answered."""
    import os
    import time

    (ws.root / "devloop.yaml").write_text("")
    ws.add_feature("a", script=False)
    ws.doit()
    (ws.root / "plans/a/plan.md").write_text("# Plan\n")
    (ws.root / "plans/a/validation.md").write_text("# Validation\n")
    ws.doit()
    (ws.root / "plans/a/review-me-round1.md").write_text("Needs a rollback.\nVERDICT: REVISE\n")
    r = ws.doit()
    assert "Next: revise plans/a/plan.md, plans/a/validation.md" in r.stdout
    ledger = (ws.root / "runs/ledger.jsonl").read_text()
    past = time.time() - 3600
    for folder, _, names in os.walk(ws.root):
        if "/.git" in folder or "/.devloop" in folder:
            continue
        for name in names:
            os.utime(os.path.join(folder, name), (past, past))  # every mtime set back an hour
    plan = ws.root / "plans/a/plan.md"
    plan.write_bytes(plan.read_bytes())  # rewritten as it was: a new mtime, the same bytes
    (ws.root / "notes.txt").touch()
    (ws.root / "notes.txt").unlink()
    r = ws.doit()
    assert "Next: revise plans/a/plan.md, plans/a/validation.md" in r.stdout, r.stdout
    assert (ws.root / "runs/ledger.jsonl").read_text() == ledger  # no answer recorded for the person
    plan.write_text("# Plan\nRollback: revert.\n")
    r = ws.doit()
    assert "Next: write plans/a/review-me-round2.md" in r.stdout
