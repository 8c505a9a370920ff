"""The loop end to end through the real `doit`, with fake agents that are real executables."""

from __future__ import annotations

import re
import sys

from devloop.provenance.lockfile import read_lock
from tests.conftest import WS

STEPS = ["plan", "plan_review", "red_team", "implement", "code_review", "deploy_review", "evaluate"]


def three_line_blocks(out: str) -> list[tuple[str, str, str]]:
    lines = out.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.startswith("Step: "):
            assert lines[i + 1].startswith("Artifact: "), out
            assert lines[i + 2].startswith("Next: "), out
            blocks.append((line[6:], lines[i + 1][10:], lines[i + 2][6:]))
    return blocks


def test_first_run_goes_through_the_whole_loop(ws: WS) -> None:
    ws.add_feature("daily-ingest")
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    blocks = three_line_blocks(r.stdout)
    assert [b[0] for b in blocks] == [f"{s}:daily-ingest" for s in STEPS]
    assert blocks[-1][2] == "nothing  (daily-ingest has been through the whole loop)"
    assert [c[2] for c in ws.calls_since(0)] == [
        "plan",
        "round1-review",
        "round1-revise",
        "round2-review",
        "implement",
        "round1-judge",
        "round1-verify",
        "round1-fix",
        "round2-judge",
        "evaluate",
    ]
    p = "plans/daily-ingest"
    assert ws.read(f"{p}/plan.md") == "# Plan\nDo it well.\n"
    assert (ws.root / f"{p}/review-judge-round1.md").exists()
    assert (ws.root / f"{p}/review-judge-round2.md").exists()
    assert (ws.root / f"{p}/reviews/round1-judge.md").exists()
    record = ws.read(f"{p}/reviews.md")
    assert "`src/ghost.py:3`" in record and "rejected mechanically: file does not exist" in record
    assert "verifier CONFIRMED; blocks" in record
    assert "Final PRODUCTION GRADE count: 1/1" in record
    assert ws.read("src/daily-ingest.py").startswith("import sys")
    evaluation = ws.read(f"{p}/evaluation.md")
    assert evaluation.startswith("---\nscores:\n  plan_quality: 4\n")
    assert "agent_calls: 9" in evaluation  # measured before the evaluator's own call
    assert re.search(r"\| plan_review \| [\d.]+ \| 3 \| [\d.]+ \| 0.0 \| 2 \| unknown \|", evaluation), evaluation
    lock = ws.read(f"{p}/devloop.lock")
    assert "src/daily-ingest.py" in lock and "journal" not in lock
    ledger = ws.read("runs/ledger.jsonl").splitlines()
    assert len(ledger) == 10


def test_second_run_calls_no_agent(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    n = len(ws.calls())
    r = ws.doit()
    assert r.returncode == 0
    assert "Everything is up to date (7 steps); no agent was called." in r.stdout
    assert len(ws.calls()) == n


def test_editing_the_plan_reruns_only_what_depends_on_it(ws: WS) -> None:
    ws.add_feature("a")
    ws.add_feature("b")
    assert ws.doit().returncode == 0
    n = len(ws.calls())
    with open(ws.root / "plans/a/plan.md", "a") as fh:
        fh.write("\nA hand-written constraint.\n")
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    calls = ws.calls_since(n)
    assert {c[0] for c in calls} == {"a"}
    assert [c[1] for c in calls] == ["plan_review", "implement", "code_review", "evaluate"]
    assert "plan:a (hand edit adopted, no agent called)" in r.stdout
    assert "A hand-written constraint." in ws.read("plans/a/plan.md")  # never overwritten
    assert (ws.root / "plans/a/review-judge-round3.md").exists()  # rounds are never overwritten
    assert read_lock(ws.root / "plans/a/devloop.lock", "a").artifacts["plans/a/plan.md"].get("edited") is True


def test_editing_code_invalidates_review_and_evaluation_only(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    n = len(ws.calls())
    with open(ws.root / "src/a.py", "a") as fh:
        fh.write("# tweak\n")
    why = ws.devloop("why", "a")
    assert "input src/a.py changed" in why.stdout
    r = ws.doit()
    assert r.returncode == 0
    assert [c[1] for c in ws.calls_since(n)] == ["code_review", "evaluate"]
    assert ws.read("src/a.py").endswith("# tweak\n")


def test_deleting_an_output_reruns_that_step_only(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    n = len(ws.calls())
    (ws.root / "plans/a/evaluation.md").unlink()
    assert "output plans/a/evaluation.md is missing" in ws.devloop("why", "a").stdout
    r = ws.doit()
    assert r.returncode == 0
    # Only the evaluation runs again; its question was answered before, so the answer cache gives it back.
    assert [line for line in r.stdout.splitlines() if line.startswith("Step:")] == [
        "Step: evaluate:a [restored from cache: 1 answer, no agent called]"
    ]
    assert ws.calls_since(n) == [] and "scores:" in ws.read("plans/a/evaluation.md")
    ws.env["DEVLOOP_NO_CACHE"] = "1"
    (ws.root / "plans/a/evaluation.md").unlink()
    assert ws.doit().returncode == 0
    assert ws.calls_since(n) == [("a", "evaluate", "evaluate")]


def test_fresh_clone_with_committed_locks_calls_no_agent(ws: WS, tmp_path) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    assert ws.git("add", "-A").returncode == 0
    status = ws.git("status", "--porcelain", "--ignored").stdout
    assert ".devloop" in status and "doit.db" not in ws.git("ls-files").stdout
    assert ws.git("commit", "-qm", "loop").returncode == 0
    clone = tmp_path / "clone"
    assert ws.run(["git", "clone", "-q", str(ws.root), str(clone)]).returncode == 0
    n = len(ws.calls())
    other = WS(clone, tmp_path)
    r = other.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Everything is up to date (7 steps)" in r.stdout
    assert len(ws.calls()) == n


def test_redo_archives_the_hand_edit_then_regenerates(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    (ws.root / "plans/a/plan.md").write_text("# My own plan\n")
    assert ws.doit().returncode == 0
    assert ws.read("plans/a/plan.md") == "# My own plan\n"
    assert ws.devloop("redo", "a", "plan").returncode == 0
    n = len(ws.calls())
    assert ws.doit().returncode == 0
    assert ws.calls_since(n)[0] == ("a", "plan", "plan")
    # The planner wrote "Do it." again; its review was asked before (REVISE, then the revision), so the answer
    # cache gives both back: the plan reads as the first run left it.
    assert ws.read("plans/a/plan.md") == "# Plan\nDo it well.\n"
    assert ws.calls_since(n) == [("a", "plan", "plan")]
    archived = list((ws.root / "plans/a/.history").rglob("plan.md"))
    assert any(p.read_text() == "# My own plan\n" for p in archived)


def test_an_unparseable_review_fails_closed_and_resumes_later(ws: WS) -> None:
    ws.add_feature("a")
    script = dict(ws.script)
    script["a/plan_review/round1-review"] = {"answer": "I think it is fine. VERDICT? maybe\n"}
    ws.set_script(script)
    r = ws.doit()
    assert r.returncode == 1
    assert "plan_review:a FAILED" in r.stdout and "unparseable" in r.stdout
    assert not (ws.root / "plans/a/review-judge-round1.md").exists()
    assert list((ws.root / ".devloop/rejected/a").glob("plan_review-round1-review-*.md"))
    assert not any(c[1] == "implement" for c in ws.calls_since(0))
    assert "failed" in ws.devloop("status").stdout
    n = len(ws.calls())
    ws.set_script({**script, "a/plan_review/round1-review": {"answer": "VERDICT: APPROVE\n"}})
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert next(c[1] for c in ws.calls_since(n)) == "plan_review"  # the plan is not redone
    assert ws.calls_since(n)[0][2] == "round1-review"


def test_plan_review_escalates_to_a_gate_and_approve_opens_it(ws: WS) -> None:
    ws.config(extra="steps:\n  plan_review: {max_rounds: 1}\n")
    ws.add_feature("a")
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert "plan_review:a (waiting for approval)" in r.stdout
    assert "Next: devloop approve a plan" in r.stdout
    assert not any(c[1] == "implement" for c in ws.calls_since(0))
    assert "still divergent" in ws.read("plans/a/escalation-plan.md") or "Both views" in ws.read(
        "plans/a/escalation-plan.md"
    )
    assert ws.devloop("approve", "a", "red-team").returncode == 3
    n = len(ws.calls())
    ok = ws.devloop("approve", "a", "plan")
    assert ok.returncode == 0, ok.stderr
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert next(c[1] for c in ws.calls_since(n)) == "implement"


def test_status_and_why_call_no_agent(ws: WS) -> None:
    ws.add_feature("a")
    st = ws.devloop("status")
    assert st.returncode == 0
    assert re.search(r"^a\s+not run\s+pending", st.stdout, re.M), st.stdout
    assert "never run" in ws.devloop("why", "a").stdout
    assert ws.calls() == []


def test_dodo_default_tasks_never_include_smoke(ws: WS) -> None:
    r = ws.doit("list")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    assert names == sorted([*STEPS, "smoke"])
    probe = "import runpy; ns = runpy.run_path('dodo.py'); print(ns['DOIT_CONFIG']['default_tasks'])"
    defaults = ws.run([sys.executable, "-c", probe]).stdout
    assert "plan" in defaults and "smoke" not in defaults


def test_features_advance_in_parallel_under_one_workspace_lock(ws: WS) -> None:
    ws.add_feature("a")
    ws.add_feature("b")
    r = ws.doit("-n", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "another devloop" not in r.stdout + r.stderr
    for f in ("a", "b"):
        assert f"Next: nothing  ({f} has been through the whole loop)" in r.stdout
    assert len(ws.calls()) == 20
    assert "Everything is up to date (14 steps)" in ws.doit("-n", "2").stdout


def test_a_changed_prompt_template_drifts_the_steps_that_use_it_and_redo_reruns_them(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    (ws.root / "templates").mkdir()
    (ws.root / "templates/evaluate.md.j2").write_text("Score {{ feature }} with:\n{{ rubric }}\n")
    why = ws.devloop("why", "a").stdout
    assert "evaluate: drifted\n  - prompt template changed" in why
    assert "plan: up to date" in why
    assert "Next: devloop redo a --drifted" in why
    n = len(ws.calls())
    assert "Everything is up to date" in ws.doit().stdout  # drift is shown, not paid for
    assert ws.calls_since(n) == []
    r = ws.devloop("redo", "a", "--drifted")
    assert r.returncode == 0 and "evaluate:a will be regenerated" in r.stdout
    assert ws.doit().returncode == 0
    assert ws.calls_since(n) == [("a", "evaluate", "evaluate")]
    assert (ws.root.parent / "last-prompt-evaluate.txt").read_text().startswith("Score a with:")
