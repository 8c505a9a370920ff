"""Step 8: evidence must exist; a rejected evaluation is asked for once more, then the step fails."""

from __future__ import annotations

from tests.conftest import WS


def answer(evidence: str) -> dict[str, str]:
    return {
        "answer": "```yaml\nscores: {plan_quality: 2, review_usefulness: 4, implementation_drift: 5,"
        f" trigger_correctness: 4}}\nfindings:\n  - dimension: plan_quality\n    evidence: {evidence}\n"
        "    impact: reviewers guessed\n    suggestion: state the rollback threshold\n```\n"
    }


def test_evidence_pointing_nowhere_is_rejected_then_retried(ws: WS) -> None:
    ws.add_feature("a")
    ws.set_script(
        {
            **ws.script,
            "a/evaluate/evaluate": answer("plans/a/ghost.md:3"),
            "a/evaluate/evaluate-retry": answer("plans/a/plan.md:2"),
        }
    )
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    calls = [c for s, c, _ in ws.agents_since(0) if s == "evaluate"]
    assert calls == ["evaluate", "evaluate-retry"]
    assert "evidence plans/a/ghost.md does not exist" in (ws.root.parent / "last-prompt-evaluate.txt").read_text()
    assert ws.read("plans/a/evaluation.md").startswith("---\nscores:\n  plan_quality: 2\n")


def test_a_second_rejection_fails_the_step_with_the_reason(ws: WS) -> None:
    ws.add_feature("a")
    ws.set_script(
        {**ws.script, "a/evaluate/evaluate": answer("plans/a/plan.md:99"), "a/evaluate/evaluate-retry": answer("none")}
    )
    r = ws.doit()
    assert r.returncode == 1
    assert "the evaluation was rejected: the plan_quality finding's evidence must cite file:line" in r.stdout
    assert not (ws.root / "plans/a/evaluation.md").exists()
