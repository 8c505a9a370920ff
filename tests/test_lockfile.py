"""devloop.provenance.lockfile: the committed YAML truth of a feature."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devloop.provenance import lockfile
from devloop.provenance.lockfile import HEADER, LOCK_NAME, dump_lock, empty_lock, read_lock, write_lock
from devloop.provenance.state import VERSION, Attempt, Call, FeatureLock, Force, Gate, StepRecord
from devloop.runtime.errors import DevloopError


def sample_lock() -> FeatureLock:
    lock = empty_lock("daily-ingest")
    lock.artifacts["plans/daily-ingest/plan.md"] = {"sha256": "ab" * 32, "step": "plan", "edited": False}
    lock.steps["plan"] = StepRecord(
        state="done",
        inputs={"plans/daily-ingest/brief.md": "cd" * 32},
        template="ef" * 32,
        config="01" * 32,
        outputs=["plans/daily-ingest/plan.md", "plans/daily-ingest/validation.md"],
        data={"agent": "codex", "model": None},
        finished="2024-05-01T12:00:00+00:00",
        calls=1,
    )
    lock.steps["plan_review"] = StepRecord(
        state="gate",
        detail="gate plan: still divergent",
        force=Force(by="triage", reason="triage route plan", note="runs/x/triage.md"),
        attempt=Attempt(
            n=2,
            base={"plans/daily-ingest/plan.md": "ab" * 32},
            started="2024-05-01T12:00:00+00:00",
            calls=[Call("round1-review", {"plans/daily-ingest/review-x-round1.md": "12" * 32}, {"verdict": "REVISE"})],
            scratch={"first_round": 1},
        ),
    )
    lock.gates["plan"] = Gate("plan_review", {"plans/daily-ingest/plan.md": "ab" * 32}, "approved", by="ann")
    return lock


def test_empty_lock_shape() -> None:
    assert empty_lock("x").to_dict() == {"version": VERSION, "feature": "x", "artifacts": {}, "steps": {}, "gates": {}}


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    lock = sample_lock()
    write_lock(path, lock)
    assert read_lock(path, "daily-ingest") == sample_lock()
    assert lock == sample_lock()  # writing does not mutate


def test_the_json_cache_gives_the_same_records(tmp_path: Path) -> None:
    path, cache = tmp_path / LOCK_NAME, tmp_path / "cache"
    write_lock(path, sample_lock(), cache)
    assert not (cache / "daily-ingest.json").exists()  # written once the step is done with the lock
    lockfile.flush_copies()
    assert (cache / "daily-ingest.json").is_file()
    assert read_lock(path, "daily-ingest", cache) == sample_lock() == read_lock(path, "daily-ingest")
    kept = json.loads((cache / "daily-ingest.json").read_text())
    assert kept["lock"] == sample_lock().to_dict()
    assert kept["sha"] == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(path.read_text()[:-20])  # cut short: the error points at the copy kept
    with pytest.raises(DevloopError, match="the last version devloop read is kept as JSON"):
        read_lock(path, "daily-ingest", cache)


def test_a_process_that_wrote_a_lock_leaves_its_copy_when_it_exits(tmp_path: Path) -> None:
    """The copy waits for the step's end; a process that ends first (a CLI command) writes it on exit."""
    code = (
        "import sys; from pathlib import Path; from devloop.provenance.lockfile import write_lock, empty_lock\n"
        "write_lock(Path(sys.argv[1]) / 'devloop.lock', empty_lock('f'), Path(sys.argv[1]) / 'cache')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=60)
    kept = json.loads((tmp_path / "cache" / "f.json").read_text())
    assert kept["sha"] == hashlib.sha256((tmp_path / "devloop.lock").read_bytes()).hexdigest()


def test_version_1_locks_are_migrated(tmp_path: Path) -> None:
    """A force flag, a journal, a pending stamp and a triage note of version 1 keep their meaning."""
    path = tmp_path / LOCK_NAME
    path.write_text(
        "version: 1\nfeature: f\ncontext: {plan: runs/r/triage.md}\n"
        "steps:\n  plan: {state: done, force: true}\n"
        "  red_team:\n    state: gate\n    calls_before: 2\n"
        "    journal: {base: {a: b}, calls: [{id: team-x, outputs: {}, data: {}}], inflight: null,"
        " started: t, first_round: 3, waiting: {call: team-y, paths: [p], before: {p: h}}}\n"
        "gates:\n  red-team: {pending: true, subject: {x: y}, step: red_team, detail: d}\n"
        "  plan: {subject: {x: y}, by: ann, at: t}\n"
    )
    lock = read_lock(path, "f")
    plan, red = lock.steps["plan"], lock.steps["red_team"]
    assert plan.force is not None and plan.force.by == "triage" and plan.force.note == "runs/r/triage.md"
    assert red.attempt is not None and red.attempt.call("team-x") is not None
    assert red.attempt.scratch == {"first_round": 3} and red.attempt.calls_made == 2
    assert red.attempt.waits["team-y"].before == {"p": "h"}
    assert lock.gates["red-team"].pending and not lock.gates["plan"].pending
    assert "context" not in lock.to_dict()


def test_file_is_the_header_then_sorted_indented_json_any_yaml_reader_reads(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    write_lock(path, sample_lock())
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    assert HEADER.startswith("# ")
    body = text[len(HEADER) :]
    top = [line.split('"')[1] for line in body.splitlines() if line.startswith('  "')]
    assert top == sorted(top) == ["artifacts", "feature", "gates", "steps", "version"]
    assert all(len(line) < 200 for line in body.splitlines())  # one value a line: diff-friendly
    assert yaml.safe_load(text) == json.loads(body) == sample_lock().to_dict()


def test_a_block_yaml_lock_of_an_older_devloop_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(HEADER + yaml.safe_dump(sample_lock().to_dict()), encoding="utf-8")
    assert read_lock(path, "f").to_dict() == sample_lock().to_dict()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"version": 2, "steps": {"plan": {"duration_s": NaN}}}', "NaN is not a value devloop writes"),
        ('{"version": 2, "steps": {"plan": {"outputs": [true]}}}', "steps.plan.outputs[0]: expected a string"),
        ('{"version": 2, "steps": {"plan": {"calls": 1.5}}}', "steps.plan.calls: expected a whole number"),
        ('{"version": 2,\n "steps": }', ":3: not valid JSON"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ],
)
def test_a_damaged_json_lock_is_an_error_naming_the_problem(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(DevloopError, match=re.escape(problem)):
        read_lock(path, "f")


def test_dump_is_deterministic() -> None:
    a, b = sample_lock(), sample_lock()
    b.artifacts = dict(reversed(list(b.artifacts.items())))
    b.steps = dict(reversed(list(b.steps.items())))
    assert dump_lock(a) == dump_lock(b)


def test_missing_lock_reads_as_empty(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "nope" / LOCK_NAME, "f") == empty_lock("f")


@pytest.mark.parametrize("text", ["version: 3\nsteps: {}\n", "steps: {}\n", "", "- 1\n", "version: '1'\n"])
def test_wrong_version_or_shape_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(text)
    with pytest.raises(DevloopError, match="version"):
        read_lock(path, "f")


def test_missing_or_broken_sections_are_filled_in(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text("version: 1\nfeature: f\nsteps: null\ngates: [1]\n")
    lock = read_lock(path, "f")
    assert lock.steps == {} and lock.gates == {} and lock.artifacts == {}


def test_corrupt_yaml_is_a_devloop_error(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text("<<<<<<< HEAD\nversion: 1\n=======\nversion: 1\n>>>>>>> theirs\n")
    with pytest.raises(DevloopError):
        read_lock(path, "f")


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    folder = tmp_path / "plans" / "f"
    path = folder / LOCK_NAME
    write_lock(path, sample_lock())
    lock = sample_lock()
    lock.steps["plan"].state = "failed"
    write_lock(path, lock)
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_NAME]
    assert read_lock(path, "daily-ingest").steps["plan"].state == "failed"


def test_failed_write_keeps_the_old_lock(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    write_lock(path, sample_lock())
    before = path.read_bytes()
    bad = sample_lock()
    bad.steps["plan"].data["obj"] = object()  # the safe dumper refuses it
    with pytest.raises(Exception):  # noqa: B017 - any representer error
        write_lock(path, bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_NAME]


# -- property: dump then read gives the same data ----------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_leaf = st.one_of(
    _text,
    st.integers(min_value=-(2**63), max_value=2**63),
    st.booleans(),
    st.none(),
    st.lists(_text, max_size=4),
)
_tree = st.recursive(_leaf, lambda children: st.dictionaries(_text, children, max_size=4), max_leaves=12)
_section = st.dictionaries(_text, _tree, max_size=4)
_artifacts = st.dictionaries(_text, st.fixed_dictionaries({"sha256": _text, "step": _text}), max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_section, artifacts=_artifacts, scratch=_section)
def test_dump_then_read_round_trips(
    tmp_path: Path, data: dict[str, Any], artifacts: dict[str, Any], scratch: dict[str, Any]
) -> None:
    lock = empty_lock("f")
    lock.artifacts = artifacts
    lock.steps["plan"] = StepRecord(state="running", data=data, attempt=Attempt(1, {}, "t", scratch=scratch))
    path = tmp_path / LOCK_NAME
    # dump_lock + a plain write (write_lock's fsync is covered above and would dominate the run time)
    path.write_text(dump_lock(lock), encoding="utf-8")
    assert read_lock(path, "f") == lock


@pytest.mark.parametrize(
    "value",
    [
        "a\r\nb",
        "\r",
        "\x85",
        "\u2028",
        "\ufeff",
        " lead",
        "trail ",
        "",
        "a\nb\n",
        "\x00",
        "null",
        "1e3",
        "0x10",
        "2024-01-01",
        "y",
        "no",
        "~",
        "<<",
        "\U0001f600",
    ],
)
def test_tricky_strings_round_trip(tmp_path: Path, value: str) -> None:
    lock = empty_lock("f")
    lock.steps[value] = StepRecord(state="failed", detail=value or "x", data={"note": value, "list": [value]})
    lock.artifacts = {"a": {"k": value}}
    path = tmp_path / LOCK_NAME
    write_lock(path, lock)
    assert read_lock(path, "f") == lock
