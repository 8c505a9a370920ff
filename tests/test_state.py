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
    attempt.wait("revise", Wait(["plans/f/plan.md", "src/not-an-input.py"]))  # a person is revising it: no change
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
    with pytest.raises(GateError, match=r"^gate 'red-team' of f is not waiting for approval; no gate is waiting$"):
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


# -- the attempt journal, call by call (each test kills mutants a regression would be) --------------------
def test_an_attempt_never_resumes_after_the_step_gained_or_lost_an_input() -> None:
    attempt = StepRecord().start(BASE, resumable=False, now="t")
    assert not attempt.matches({**BASE, "src/new.py": "n1"})  # a new input: the attempt never saw it
    assert not attempt.matches({"plans/f/plan.md": "p1"})


def test_a_newer_answer_for_the_same_call_replaces_the_older_one() -> None:
    attempt = StepRecord().start(BASE, resumable=False, now="t")
    attempt.remember("round1-review", {"a.md": "h1"}, {"vote": "NEEDS WORK"})
    attempt.remember("round1-review", {"a.md": "h2"}, {"vote": "PRODUCTION GRADE"})
    assert [c.id for c in attempt.calls] == ["round1-review"]
    call = attempt.call("round1-review")
    assert call is not None and call.data == {"vote": "PRODUCTION GRADE"} and call.outputs == {"a.md": "h2"}


def test_remember_and_reject_end_the_in_flight_call_and_only_their_own() -> None:
    attempt = StepRecord().start(BASE, resumable=False, now="t")
    attempt.begin("implement", ["src/a.py", "src/a.py", "plans/f/deviations.md"])
    assert attempt.inflight == "implement" and attempt.inflight_paths == ["plans/f/deviations.md", "src/a.py"]
    attempt.remember("other", {}, {})
    assert attempt.inflight == "implement"  # another call's answer leaves it in flight
    attempt.remember("implement", {"src/a.py": "h"}, {})
    assert attempt.inflight is None and attempt.inflight_paths == []
    attempt.begin("gate-fix1", ["src/a.py"])
    attempt.reject("other", "no", {})
    assert attempt.inflight == "gate-fix1"
    attempt.reject("gate-fix1", "still red", {})
    assert attempt.inflight is None and attempt.inflight_paths == []
    attempt.begin("x", ["y"])
    attempt.end_call()
    assert attempt.inflight is None and attempt.inflight_paths == []


def test_a_killed_agent_s_partial_files_do_not_stop_the_attempt_from_resuming() -> None:
    attempt = StepRecord().start(BASE, resumable=False, now="t")
    attempt.begin("validation-pass2", ["plans/f/validation.md", "src/not-an-input.py"])
    half = {**BASE, "plans/f/validation.md": "half-written"}
    assert attempt.matches(half)  # the call is asked again, the attempt resumes
    assert not attempt.matches({**half, "plans/f/plan.md": "p9"})
    attempt.end_call()
    assert not attempt.matches(half)


def test_a_wait_ends_when_its_call_is_answered_and_its_files_count_again() -> None:
    attempt = StepRecord().start(BASE, resumable=False, now="t")
    attempt.wait("revise", Wait(["plans/f/plan.md"], {"plans/f/plan.md": "p1"}))
    assert attempt.matches({**BASE, "plans/f/plan.md": "p2"})
    attempt.remember("revise", {"plans/f/plan.md": "p2"}, {})
    assert "revise" not in attempt.waits
    assert attempt.matches({**BASE, "plans/f/plan.md": "p2"})
    assert not attempt.matches({**BASE, "plans/f/plan.md": "p3"})  # edited after the answer: not resumable


def test_a_refused_answer_s_files_are_expected_as_it_left_them() -> None:
    attempt = StepRecord().start(BASE, resumable=False, now="t")
    attempt.reject("plan", "broken check block", {"plans/f/validation.md": "v-bad"})
    assert attempt.matches({**BASE, "plans/f/validation.md": "v-bad"})
    assert not attempt.matches(BASE)


def test_fix_rounds_add_to_the_implementer_s_files_and_deleted_files_leave_them() -> None:
    rec = StepRecord(outputs=["plans/f/deviations.md", "src/a.py"], data={"deleted": ["src/old.py"]})
    rec.add_outputs(["src/b.py", "src/a.py"])
    assert rec.outputs == ["plans/f/deviations.md", "src/a.py", "src/b.py"]
    assert rec.data["deleted"] == ["src/old.py"]
    rec.add_outputs([], ["src/a.py"])
    assert rec.outputs == ["plans/f/deviations.md", "src/b.py"] and rec.data["deleted"] == ["src/a.py", "src/old.py"]
    plain = StepRecord(outputs=["x"])
    plain.add_outputs(["y"])
    assert "deleted" not in plain.data


def test_ran_with_keeps_the_start_hashes_unless_a_call_of_the_attempt_wrote_the_file() -> None:
    start = {"plans/f/plan.md": "p1", "src/a.py": "a1", "src/gone.py": "g1", "deploy-stamp": "d1"}
    attempt = StepRecord().start(start, resumable=False, now="t")
    attempt.remember("round1-fix", {"src/a.py": "a2", "src/b.py": "b2"}, {"deleted": ["src/gone.py"]})
    now = {"plans/f/plan.md": "p9", "src/a.py": "a9", "src/b.py": "b2", "src/c.py": "c1", "deploy-stamp": "d2"}
    given = attempt.ran_with(now, frozenset({"deploy-stamp"}))
    assert given == {"plans/f/plan.md": "p1", "src/a.py": "a2", "src/b.py": "b2", "deploy-stamp": "d2"}
    # src/c.py appeared and nobody of the attempt wrote it: left out, so the record says "new input"
    # src/gone.py: deleted by the attempt itself, so not an input it lost


def test_ran_with_takes_the_last_call_s_word_on_a_file() -> None:
    attempt = StepRecord().start({"src/a.py": "a1"}, resumable=False, now="t")
    attempt.remember("round1-fix", {"src/a.py": "a2"}, {})
    attempt.remember("round2-fix", {}, {"deleted": ["src/a.py"]})
    assert attempt.ran_with({}) == {}
    assert attempt.ran_with({"src/b.py": "b1"}) == {}  # a file nobody of the attempt wrote, after one it deleted
    attempt.remember("round3-fix", {"src/a.py": "a3"}, {})
    assert attempt.ran_with({"src/a.py": "a3"}) == {"src/a.py": "a3"}
    gone = StepRecord().start({"a/gone.py": "g1", "b.md": "b1"}, resumable=False, now="t")
    gone.remember("fix", {}, {"deleted": ["a/gone.py"]})
    assert gone.ran_with({"b.md": "b2"}) == {"b.md": "b1"}  # the deleted file is skipped, the rest still read
    lost = StepRecord().start({"src/a.py": "a1", "x": "1"}, resumable=False, now="t")
    assert lost.ran_with({"x": "1"}) == {"src/a.py": "a1", "x": "1"}  # it lost an input it read: kept, so stale
    assert lost.ran_with({"x": "1", "f": "f1"}, {"f"}) == {"src/a.py": "a1", "x": "1", "f": "f1"}


def test_the_registry_leaves_out_what_a_person_is_editing_for_another_step_s_waiting_call() -> None:
    lock = FeatureLock("f")
    lock.artifacts = {"src/a.py": {"sha256": "a1"}, "plans/f/plan.md": {"sha256": "p1"}}
    assert lock.registry_for("implement") is lock.artifacts
    review = lock.step("code_review")
    attempt = review.start({}, resumable=False, now="t")
    attempt.wait("round1-fix", Wait(["src/a.py"]))
    review.wait("waiting: revise src/a.py")
    assert lock.registry_for("implement") == {"plans/f/plan.md": {"sha256": "p1"}}
    assert lock.registry_for("code_review") is lock.artifacts  # its own waits are not another step's
    review.fail("gave up")
    assert lock.registry_for("implement") is lock.artifacts  # only while that call waits


# -- the committed form: every field under its own name, read back as written ---------------------------
def full_lock() -> FeatureLock:
    lock = FeatureLock("f", extra={"future_key": {"kept": True}})
    lock.artifacts["plans/f/plan.md"] = {"sha256": "p1", "step": "plan"}
    done = lock.step("implement")
    done.start(BASE, resumable=False, now="t0")
    cur = Current(inputs=BASE, template="tpl", config="cfg", outputs={})
    timing = {"calls": 2, "agent_seconds": 1.5, "duration_s": 2.25, "finished": "t1"}
    done.finish(outputs=["src/a.py"], data={"gates": []}, note="made it", current=cur, timing=timing)
    done.adopted = ["src/a.py"]
    rec = lock.step("code_review")
    rec.request_force(Force("triage", "route code", note="runs/x/triage.md", seed={"s": 1}, at="t2"))
    attempt = rec.start(BASE, resumable=False, now="t3")
    attempt.n = 3
    attempt.remember("round1-review", {"plans/f/reviews/r1.md": "h1"}, {"vote": "NEEDS WORK"})
    attempt.begin("round1-fix", ["src/a.py"])
    attempt.wait("round1-verify", Wait(["plans/f/reviews/v.md"], {"plans/f/reviews/v.md": "missing"}, "prompt.md"))
    attempt.reject("round1-judge", "unparseable", {"plans/f/reviews/j.md": "hj"})
    rec.count_calls(4)
    rec.wait("waiting: write plans/f/reviews/v.md")
    lock.open_gate("plan", "plan_review", {"plans/f/plan.md": "p1"}, "read it", "t4")
    lock.approve("plan", {"plans/f/plan.md": "p1"}, "ann", "t5")
    lock.deploy = {"id": "d1", "version": "v1"}
    lock.smoke = {"run": "runs/f/1"}
    return lock


EXPECTED = {
    "future_key": {"kept": True},
    "version": 2,
    "feature": "f",
    "artifacts": {"plans/f/plan.md": {"sha256": "p1", "step": "plan"}},
    "steps": {
        "implement": {
            "state": "done",
            "detail": "made it",
            "attempts": 1,
            "inputs": BASE,
            "template": "tpl",
            "config": "cfg",
            "outputs": ["src/a.py"],
            "data": {"gates": []},
            "adopted": ["src/a.py"],
            "calls": 2,
            "agent_seconds": 1.5,
            "duration_s": 2.25,
            "finished": "t1",
        },
        "code_review": {
            "state": "waiting",
            "detail": "waiting: write plans/f/reviews/v.md",
            "attempt": {
                "n": 3,
                "base": BASE,
                "started": "t3",
                "forced": "triage",
                "reason": "route code",
                "note": "runs/x/triage.md",
                "calls": [
                    {"id": "round1-review", "outputs": {"plans/f/reviews/r1.md": "h1"}, "data": {"vote": "NEEDS WORK"}}
                ],
                "inflight": "round1-fix",
                "inflight_paths": ["src/a.py"],
                "waits": {
                    "round1-verify": {
                        "paths": ["plans/f/reviews/v.md"],
                        "before": {"plans/f/reviews/v.md": "missing"},
                        "prompt": "prompt.md",
                    }
                },
                "rejected": {"round1-judge": {"reason": "unparseable", "outputs": {"plans/f/reviews/j.md": "hj"}}},
                "scratch": {"s": 1},
                "calls_made": 4,
            },
            "attempts": 1,
            "calls": 0,
            "agent_seconds": 0.0,
            "duration_s": 0.0,
        },
    },
    "gates": {
        "plan": {
            "step": "plan_review",
            "subject": {"plans/f/plan.md": "p1"},
            "status": "approved",
            "detail": "read it",
            "opened": "t4",
            "by": "ann",
            "at": "t5",
        }
    },
    "deploy": {"id": "d1", "version": "v1"},
    "smoke": {"run": "runs/f/1"},
}


def test_the_lock_is_written_field_by_field_and_read_back_the_same() -> None:
    lock = full_lock()
    assert lock.to_dict() == EXPECTED
    again = FeatureLock.from_dict(EXPECTED, "f")
    assert again == lock and again.to_dict() == EXPECTED


def test_a_lock_with_nothing_optional_reads_with_the_defaults() -> None:
    minimal = {"version": 2, "steps": {"plan": {"attempt": {"base": {}}}}, "gates": {"g": {}}}
    lock = FeatureLock.from_dict(minimal, "f")
    rec = lock.steps["plan"]
    assert rec.state == "new" and rec.agent_seconds == 0.0 and rec.duration_s == 0.0 and rec.adopted == []
    attempt = rec.attempt
    assert attempt is not None and attempt.n == 1 and attempt.started == "" and attempt.forced is None
    assert attempt.inflight is None and attempt.inflight_paths == [] and attempt.note is None
    gate = lock.gates["g"]
    assert gate.step == "" and gate.detail == "" and gate.status == "pending" and gate.opened is None
    assert lock.deploy is None and lock.smoke == {} and lock.extra == {} and lock.feature == "f"
    rejected = FeatureLock.from_dict({"steps": {"s": {"attempt": {"rejected": {"c": {}}}}}}, "f")
    assert rejected.steps["s"].attempt.rejected["c"].reason == ""  # type: ignore[union-attr]


def test_steps_and_gates_that_are_not_mappings_are_left_out() -> None:
    lock = FeatureLock.from_dict({"version": 2, "steps": ["plan"], "gates": "open", "deploy": {}}, "f")
    assert lock.steps == {} and lock.gates == {} and lock.deploy is None
    assert "deploy" not in lock.to_dict() and "smoke" not in lock.to_dict()


def test_a_version_1_lock_is_read_through_its_migration() -> None:
    v1 = {"version": 1, "feature": "f", "steps": {"plan": {"state": "done", "force": True}}}
    lock = FeatureLock.from_dict(v1, "f")
    assert lock.steps["plan"].force is not None and lock.steps["plan"].force.by == "redo"
    assert lock.to_dict()["version"] == 2


def test_a_record_keeps_the_reason_of_each_stop_and_counts_every_call() -> None:
    rec = StepRecord()
    rec.start(BASE, resumable=False, now="t")
    for stop, state in ((rec.wait, WAITING), (rec.at_gate, GATE), (rec.fail, FAILED)):
        stop(f"why {state}")
        assert (rec.state, rec.detail) == (state, f"why {state}")
    rec.count_calls(2)
    rec.count_calls(3)
    assert rec.attempt is not None and rec.attempt.calls_made == 5
    cur = Current(inputs=BASE, template="t", config="c", outputs={})
    rec.finish(outputs=[], data={"x": 1}, note="", current=cur, timing={})
    assert rec.detail is None and rec.data == {"x": 1} and rec.calls == 5
    assert rec.agent_seconds == 0.0 and rec.duration_s == 0.0
    rec.finish(outputs=[], data={}, note="n", current=cur, timing={"calls": 1})
    assert rec.calls == 1 and rec.detail == "n"  # no attempt: only the calls timing counts


def test_a_detail_is_bounded_and_says_how_much_was_cut() -> None:
    from devloop.provenance.state import bounded

    assert bounded(None) == "" and bounded("") == ""
    assert bounded("x" * 10, 10) == "x" * 10
    assert bounded("x" * 1234, 10) == "x" * 10 + " ... [1,224 more characters not kept]"


def test_a_step_record_is_made_once_and_gates_are_found_by_step_and_state() -> None:
    lock = FeatureLock("f")
    rec = lock.step("plan")
    rec.state = DONE
    assert lock.step("plan") is rec and lock.record("plan") is rec and lock.record("missing") is None
    lock.open_gate("plan", "plan_review", {}, "", "t")
    lock.open_gate("red-team", "red_team", {}, "", "t")
    lock.approve("red-team", {}, "ann", "t")
    assert lock.pending_gate("red_team") is None and lock.pending_gate("smoke") is None
    assert lock.pending_gate("plan_review") == ("plan", lock.gates["plan"])
    with pytest.raises(GateError, match=r"not waiting for approval; gates waiting: plan$"):
        lock.approve("smoke", {}, "ann", "t")
    lock.open_gate("code-review", "code_review", {}, "", "t")
    with pytest.raises(GateError, match=r"gates waiting: plan, code-review$"):
        lock.approve("smoke", {}, "ann", "t")
    lock.open_gate("deploy", "deploy_review", {"a": "1", "b": "2"}, "", "t")
    with pytest.raises(GateError, match=r"^a, b changed since the gate opened$"):
        lock.approve("deploy", {}, "ann", "t")


def test_clean_keeps_every_value_but_the_empty_ones() -> None:
    from devloop.provenance.state import _clean

    assert _clean({"a": None, "b": {}, "c": [], "d": "", "e": 0, "f": False, "g": "XXXX"}) == {
        "e": 0,
        "f": False,
        "g": "XXXX",
    }
