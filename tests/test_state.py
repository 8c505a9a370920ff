"""devloop.provenance.state: the transitions of a step and of a gate, as pure functions of the records."""

from __future__ import annotations

import pytest

from devloop.provenance.staleness import Current
from devloop.provenance.state import (
    APPROVED,
    DONE,
    FAILED,
    GATE,
    RUNNING,
    WAITING,
    FeatureLock,
    Force,
    GateError,
    StepRecord,
    Wait,
)

BASE = {"plans/f/plan.md": "p1", "plans/f/validation.md": "v1"}


def test_a_resumed_attempt_keeps_its_journal_and_a_forced_one_starts_afresh_once() -> None:
    rec = StepRecord()
    first = rec.start(BASE, resumable=False, now="t1")
    first.remember("team-x", {}, {"verdict": "FINDINGS"})
    rec.at_gate("gate red-team: read it")
    assert rec.state == GATE and rec.start(BASE, resumable=True, now="t2") is first
    rec.request_force(Force("redo", "devloop redo"))
    second = rec.start(BASE, resumable=True, now="t3")
    assert second is not first and second.call("team-x") is None and second.forced == "redo"
    assert rec.force is None and rec.attempts == 2  # the request is spent: exactly one new attempt
    rec.wait("waiting: write it")
    assert rec.state == WAITING and rec.start(BASE, resumable=True, now="t4") is second


def test_a_force_seeds_the_new_attempt_and_carries_its_note() -> None:
    rec = StepRecord(state=DONE)
    rec.request_force(Force("monitor", "trigger fired", note="runs/x/triage.md", seed={"run_dir": "runs/x"}))
    attempt = rec.start({}, resumable=False, now="t")
    assert attempt.scratch == {"run_dir": "runs/x"} and attempt.note == "runs/x/triage.md"


def test_finish_ends_the_attempt_and_records_what_it_ran_with() -> None:
    rec = StepRecord()
    rec.start(BASE, resumable=False, now="t")
    rec.count_calls(2)
    cur = Current(inputs=BASE, template="tpl", config="cfg", outputs={})
    rec.finish(outputs=["b", "a", "a"], data={"k": 1}, note="", current=cur, timing={"finished": "t9"})
    assert rec.state == DONE and rec.attempt is None and rec.outputs == ["a", "b"]
    assert rec.inputs == BASE and rec.template == "tpl" and rec.calls == 2 and rec.finished == "t9"


def test_a_rejected_answer_is_forgotten_and_remembered_with_its_reason() -> None:
    rec = StepRecord()
    attempt = rec.start(BASE, resumable=False, now="t")
    attempt.remember("plan", {"plans/f/validation.md": "v2"}, {})
    attempt.wait("plan", Wait(["plans/f/validation.md"], {"plans/f/validation.md": "v2"}))
    attempt.reject("plan", "the check block is invalid", {"plans/f/validation.md": "v2"})
    rec.fail("the check block is invalid")
    assert rec.state == FAILED and attempt.call("plan") is None and "plan" not in attempt.waits
    assert attempt.rejected["plan"].reason == "the check block is invalid"
    attempt.remember("plan", {"plans/f/validation.md": "v3"}, {})
    assert "plan" not in attempt.rejected


def test_an_attempt_resumes_only_while_its_inputs_are_as_it_left_them() -> None:
    rec = StepRecord()
    attempt = rec.start(BASE, resumable=False, now="t")
    assert attempt.matches(BASE)
    attempt.remember("validation-pass2", {"plans/f/validation.md": "v2"}, {})  # the step rewrote an input
    assert attempt.matches({**BASE, "plans/f/validation.md": "v2"})
    assert not attempt.matches(BASE)
    assert not attempt.matches({**BASE, "plans/f/validation.md": "v2", "plans/f/plan.md": "p9"})
    attempt.wait("revise", Wait(["plans/f/plan.md"]))  # a person is revising it: not a change
    assert attempt.matches({**BASE, "plans/f/validation.md": "v2", "plans/f/plan.md": "p9"})
    assert not attempt.matches({"plans/f/plan.md": "p1"})  # another set of inputs


def test_a_gate_passes_only_on_an_approval_of_exactly_its_subject() -> None:
    lock = FeatureLock("f")
    subject = {"plans/f/red-team.md": "r1"}
    assert not lock.gate_passes("red-team", subject)
    lock.open_gate("red-team", "red_team", subject, "read it", "t")
    assert not lock.gate_passes("red-team", subject)  # pending is not passing, however often asked
    with pytest.raises(GateError, match="changed since the gate opened"):
        lock.approve("red-team", {"plans/f/red-team.md": "r2"}, "ann", "t")
    with pytest.raises(GateError, match="not waiting for approval; gates waiting: red-team"):
        lock.approve("plan", {}, "ann", "t")
    stamp = lock.approve("red-team", subject, "ann", "t2")
    assert stamp.status == APPROVED and stamp.by == "ann"
    assert lock.gate_passes("red-team", subject) and not lock.gate_passes("red-team", {"plans/f/red-team.md": "r2"})
    with pytest.raises(GateError, match="no gate is waiting"):
        lock.approve("red-team", subject, "ann", "t3")


def test_finishing_drops_the_step_s_pending_gates_only() -> None:
    lock = FeatureLock("f")
    lock.open_gate("plan", "plan_review", {}, "", "t")
    lock.open_gate("red-team", "red_team", {}, "", "t")
    lock.drop_pending("plan_review")
    assert list(lock.gates) == ["red-team"] and lock.pending_gate("red_team") is not None


def test_a_record_round_trips_through_its_serialised_form() -> None:
    rec = StepRecord()
    attempt = rec.start(BASE, resumable=False, now="t")
    attempt.remember("c", {"x": "1"}, {"d": [1, 2]})
    attempt.reject("e", "bad", {"y": "2"})
    attempt.wait("w", Wait(["z"], {"z": "3"}, "p"))
    rec.request_force(Force("triage", "route plan", note="n"))
    assert rec.state == RUNNING
    assert StepRecord.from_dict(rec.to_dict()) == rec
