"""devloop.provenance.staleness.assess: is a step up to date, and why not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devloop.provenance.hashing import MISSING, hash_file, hash_output, short
from devloop.provenance.staleness import Current, Status, assess
from devloop.provenance.state import DONE, FAILED, GATE, INTERRUPTED, NEW, WAITING, Attempt, Force, StepRecord

PLAN = "plans/f/plan.md"
BRIEF = "plans/f/brief.md"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "plans" / "f").mkdir(parents=True)
    (tmp_path / BRIEF).write_text("Build f.\n")
    (tmp_path / PLAN).write_text("# Plan\n")
    return tmp_path


def current(ws: Path, inputs: tuple[str, ...] = (BRIEF,), outputs: tuple[str, ...] = (PLAN,), **kw: str) -> Current:
    return Current(
        inputs={p: hash_file(ws / p) for p in inputs},
        template=kw.get("template", "t" * 64),
        config=kw.get("config", "c" * 64),
        outputs={p: hash_output(f"{ws}/", p) for p in outputs},
    )


def record_of(cur: Current, **extra: Any) -> StepRecord:
    fields: dict[str, Any] = {
        "state": DONE,
        "inputs": dict(cur.inputs),
        "template": cur.template,
        "config": cur.config,
        "outputs": list(cur.outputs),
    }
    return StepRecord(**{**fields, **extra})


def registry(ws: Path, *paths: str) -> dict[str, Any]:
    return {p: {"sha256": hash_file(ws / p)} for p in paths}


@pytest.mark.parametrize("record", [None, StepRecord()])
def test_never_run_is_new(ws: Path, record: StepRecord | None) -> None:
    status = assess(record, current(ws), {})
    assert status.state == "new"
    assert status.reasons == ["never run"]
    assert not status.fresh


def test_unchanged_is_fresh(ws: Path) -> None:
    cur = current(ws)
    status = assess(record_of(cur), cur, registry(ws, PLAN))
    assert status == Status("fresh", [], [])
    assert status.fresh


def test_changed_input_is_stale_with_path_and_both_hashes(ws: Path) -> None:
    before = current(ws)
    record = record_of(before)
    (ws / BRIEF).write_text("Build f, but faster.\n")
    now = current(ws)
    status = assess(record, now, registry(ws, PLAN))
    assert status.state == "stale"
    assert not status.fresh
    old_h, new_h = before.inputs[BRIEF], now.inputs[BRIEF]
    assert old_h != new_h
    assert status.reasons == [f"input {BRIEF} changed ({short(old_h)} -> {short(new_h)})"]
    assert len(short(old_h)) == 12


def test_deleted_input_is_stale(ws: Path) -> None:
    record = record_of(current(ws))
    (ws / BRIEF).unlink()
    status = assess(record, current(ws), registry(ws, PLAN))
    assert status.state == "stale"
    assert status.reasons == [f"input {BRIEF} changed ({short(record.inputs[BRIEF])} -> {MISSING})"]


def test_new_and_dropped_inputs_are_reasons(ws: Path) -> None:
    (ws / "extra.md").write_text("x")
    record = record_of(current(ws))
    cur = current(ws, inputs=("extra.md",))
    status = assess(record, cur, registry(ws, PLAN))
    assert status.state == "stale"
    assert sorted(status.reasons) == [f"input {BRIEF} is no longer used", "new input extra.md"]


def test_missing_output_is_stale(ws: Path) -> None:
    record = record_of(current(ws))
    artifacts = registry(ws, PLAN)
    (ws / PLAN).unlink()
    status = assess(record, current(ws), artifacts)
    assert status.state == "stale"
    assert status.reasons == [f"output {PLAN} is missing or empty"]
    assert status.edited == []


@pytest.mark.parametrize("blank", ["", "  \n\t\n"])
def test_an_emptied_document_is_missing_never_a_hand_edit_to_adopt(ws: Path, blank: str) -> None:
    record = record_of(current(ws))
    artifacts = registry(ws, PLAN)
    (ws / PLAN).write_text(blank)
    status = assess(record, current(ws), artifacts)
    assert status.state == "stale" and status.reasons == [f"output {PLAN} is missing or empty"]


def test_an_empty_code_file_is_content_not_missing(ws: Path) -> None:
    (ws / "pkg").mkdir()
    (ws / "pkg/__init__.py").write_text("")
    cur = current(ws, outputs=("pkg/__init__.py",))
    assert cur.outputs["pkg/__init__.py"] != MISSING
    assert assess(record_of(cur), cur, registry(ws, "pkg/__init__.py")).state == "fresh"


def test_hand_edited_output_is_edited(ws: Path) -> None:
    record = record_of(current(ws))
    artifacts = registry(ws, PLAN)
    (ws / PLAN).write_text("# Plan\nEdited by a human.\n")
    status = assess(record, current(ws), artifacts)
    assert status.state == "edited"
    assert status.edited == [PLAN]
    assert any(PLAN in r and "edited" in r for r in status.reasons)
    assert not status.fresh


def test_edited_output_also_reports_other_reasons(ws: Path) -> None:
    record = record_of(current(ws))
    artifacts = registry(ws, PLAN)
    (ws / PLAN).write_text("hand edit\n")
    (ws / BRIEF).write_text("new brief\n")
    status = assess(record, current(ws), artifacts)
    assert status.state == "edited"
    assert status.edited == [PLAN]
    assert any(r.startswith(f"input {BRIEF} changed") for r in status.reasons)


def test_output_not_in_the_registry_is_not_edited(ws: Path) -> None:
    cur = current(ws)
    status = assess(record_of(cur), cur, {})
    assert status.state == "fresh"


def test_missing_output_wins_over_an_edit(ws: Path) -> None:
    (ws / "plans/f/validation.md").write_text("# Checks\n")
    outs = (PLAN, "plans/f/validation.md")
    record = record_of(current(ws, outputs=outs))
    artifacts = registry(ws, *outs)
    (ws / PLAN).write_text("edited\n")
    (ws / "plans/f/validation.md").unlink()
    status = assess(record, current(ws, outputs=outs), artifacts)
    assert status.state == "stale"
    assert "output plans/f/validation.md is missing or empty" in status.reasons


def test_template_change_drifts_but_stays_settled(ws: Path) -> None:
    record = record_of(current(ws))
    status = assess(record, current(ws, template="T" * 64), registry(ws, PLAN))
    assert status.state == "drifted" and status.fresh  # shown, never re-run by a plain doit
    assert status.reasons[0] == "prompt template changed"


def test_config_change_drifts_but_stays_settled(ws: Path) -> None:
    record = record_of(current(ws))
    status = assess(record, current(ws, config="C" * 64), registry(ws, PLAN))
    assert status.state == "drifted" and status.fresh
    assert status.reasons[0] == "agent or policy config changed"


def test_content_change_wins_over_drift(ws: Path) -> None:
    record = record_of(current(ws))
    (ws / BRIEF).write_text("Build f, but faster.\n")
    status = assess(record, current(ws, config="C" * 64), registry(ws, PLAN))
    assert status.state == "stale" and not status.fresh


def test_a_force_request_is_stale_even_when_everything_matches(ws: Path) -> None:
    cur = current(ws)
    status = assess(record_of(cur, force=Force("redo", "devloop redo")), cur, registry(ws, PLAN))
    assert status.state == "forced" and not status.fresh
    assert status.reasons == ["forced by devloop redo"]


@pytest.mark.parametrize("state", [WAITING, GATE, FAILED])
def test_recorded_unfinished_states_are_returned_with_their_detail(ws: Path, state: str) -> None:
    cur = current(ws)
    detail = f"Next: write {PLAN}" if state == WAITING else f"{state} detail"
    status = assess(record_of(cur, state=state, detail=detail), cur, registry(ws, PLAN))
    assert status.state == state
    assert status.reasons == [detail]
    assert not status.fresh


def test_unfinished_state_without_detail_names_the_state(ws: Path) -> None:
    cur = current(ws)
    assert assess(record_of(cur, state=FAILED), cur, {}).reasons == [FAILED]


def test_a_run_left_running_reads_as_interrupted_and_names_the_call(ws: Path) -> None:
    cur = current(ws)
    attempt = Attempt(1, dict(cur.inputs), "t", inflight="plan")
    status = assess(record_of(cur, state="running", attempt=attempt), cur, {})
    assert status.state == "interrupted" and not status.fresh
    assert status.reasons == ["a run stopped during call plan; the next doit resumes where it stopped"]
    assert assess(record_of(cur, state=INTERRUPTED, detail="x"), cur, {}).reasons == ["x"]


def test_unknown_recorded_state_is_stale(ws: Path) -> None:
    cur = current(ws)
    status = assess(record_of(cur, state="exploded", detail="?"), cur, {})
    assert status.state == "stale"
    assert status.reasons == ["unknown state 'exploded'"]


def test_a_new_record_with_a_force_request_is_forced(ws: Path) -> None:
    cur = current(ws)
    assert assess(StepRecord(state=NEW, force=Force("triage", "triage route code")), cur, {}).state == "forced"
