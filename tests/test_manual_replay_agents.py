"""The manual and replay agent kinds, against real files."""

from __future__ import annotations

from pathlib import Path

from devloop.agents.base import AgentRequest, CallStatus, RoleKind
from devloop.agents.manual import ManualAgent
from devloop.agents.replay import ReplayAgent
from devloop.provenance.hashing import hash_file


def request(root: Path, kind: RoleKind, **kw: object) -> AgentRequest:
    base = dict(prompt="Do the thing", workspace=root, feature="f", step="plan", role="planner", role_kind=kind)
    base.update(call_id="plan")
    base.update(kw)
    return AgentRequest(**base)  # type: ignore[arg-type]


def test_manual_judge_waits_then_answers_with_the_file(tmp_path: Path) -> None:
    agent = ManualAgent("me")
    req = request(tmp_path, RoleKind.JUDGE, answer_path="plans/f/review-me-round1.md")
    res = agent.run(req)
    assert res.status is CallStatus.WAITING
    assert res.detail == "write plans/f/review-me-round1.md (prompt: .devloop/prompts/f/plan-plan.md)"
    assert (tmp_path / ".devloop/prompts/f/plan-plan.md").read_text() == "Do the thing"
    assert (tmp_path / "plans/f").is_dir()
    (tmp_path / "plans/f/review-me-round1.md").write_text("   \n")
    assert agent.run(req).status is CallStatus.WAITING  # whitespace is not an answer
    (tmp_path / "plans/f/review-me-round1.md").write_text("VERDICT: APPROVE\n")
    res = agent.run(req)
    assert res.status is CallStatus.ANSWERED and res.text == "VERDICT: APPROVE\n"


def test_manual_author_revision_needs_a_changed_file(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("v1")
    before = (("plan.md", hash_file(plan)),)
    req = request(tmp_path, RoleKind.AUTHOR, expected_files=("plan.md",), before=before)
    res = ManualAgent("me").run(req)
    assert res.status is CallStatus.WAITING and res.detail.startswith("revise plan.md")
    plan.write_text("v2")
    assert ManualAgent("me").run(req).status is CallStatus.ANSWERED


def test_replay_prefers_the_feature_folder_and_reports_what_it_looked_for(tmp_path: Path) -> None:
    (tmp_path / "rec/plan").mkdir(parents=True)
    (tmp_path / "rec/plan/plan.md").write_text("shared answer")
    agent = ReplayAgent("rec", Path("rec"), model="m1")
    res = agent.run(request(tmp_path, RoleKind.AUTHOR))
    assert res.ok and res.text == "shared answer" and res.model == "m1"
    (tmp_path / "rec/f/plan").mkdir(parents=True)
    (tmp_path / "rec/f/plan/plan.md").write_text("feature answer")
    assert agent.run(request(tmp_path, RoleKind.AUTHOR)).text == "feature answer"
    missing = agent.run(request(tmp_path, RoleKind.AUTHOR, call_id="round9-review"))
    assert missing.status is CallStatus.ERROR and "round9-review.md" in missing.detail
    (tmp_path / "rec/f/plan/empty.md").write_text("")
    assert agent.run(request(tmp_path, RoleKind.JUDGE, call_id="empty")).status is CallStatus.ERROR


def test_manual_judge_answer_that_is_not_text_or_too_large_is_refused(tmp_path: Path) -> None:
    agent = ManualAgent("me")
    req = request(tmp_path, RoleKind.JUDGE, answer_path="plans/f/review-me-round1.md")
    answer = tmp_path / "plans/f/review-me-round1.md"
    answer.parent.mkdir(parents=True)
    answer.write_bytes(b"VERDICT: APPROVE\n\xff\xfe\n")
    res = agent.run(req)
    assert res.status is CallStatus.ERROR and res.malformed
    assert res.detail == "plans/f/review-me-round1.md is not valid UTF-8"
    with answer.open("wb") as fh:
        fh.write(b"VERDICT: APPROVE\n")
        fh.truncate(10 * 1024 * 1024 + 1)  # sparse: large on paper, cheap on disk
    res = agent.run(req)
    assert res.status is CallStatus.ERROR and res.detail == "plans/f/review-me-round1.md is larger than 10 MB"
