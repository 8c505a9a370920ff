"""devloop.provenance.lockfile: the committed YAML truth of a feature."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devloop.errors import DevloopError
from devloop.provenance.lockfile import HEADER, LOCK_NAME, VERSION, dump_lock, empty_lock, read_lock, write_lock


def sample_lock() -> dict[str, Any]:
    lock = empty_lock("daily-ingest")
    lock["artifacts"]["plans/daily-ingest/plan.md"] = {"sha256": "ab" * 32, "step": "plan", "edited": False}
    lock["steps"]["plan"] = {
        "state": "done",
        "inputs": {"plans/daily-ingest/brief.md": "cd" * 32},
        "template": "ef" * 32,
        "config": "01" * 32,
        "outputs": ["plans/daily-ingest/plan.md", "plans/daily-ingest/validation.md"],
        "agent": "codex",
        "model": None,
        "at": "2024-05-01T12:00:00+00:00",
        "calls": 1,
    }
    lock["gates"]["plan"] = {"approved": "ab" * 32, "by": "ann"}
    return lock


def test_empty_lock_shape() -> None:
    assert empty_lock("x") == {"version": VERSION, "feature": "x", "artifacts": {}, "steps": {}, "gates": {}}


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    lock = sample_lock()
    original = copy.deepcopy(lock)
    write_lock(path, lock)
    assert read_lock(path, "daily-ingest") == original
    assert lock == original  # writing does not mutate


def test_file_starts_with_the_header_and_is_sorted_block_yaml(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    write_lock(path, sample_lock())
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    assert HEADER.startswith("# ")
    top = [line.split(":")[0] for line in text.splitlines()[1:] if line and not line.startswith((" ", "-"))]
    assert top == sorted(top) == ["artifacts", "feature", "gates", "steps", "version"]
    assert "{" not in text  # block style, diff-friendly


def test_dump_is_deterministic() -> None:
    a = sample_lock()
    b = dict(reversed(list(sample_lock().items())))
    assert dump_lock(a) == dump_lock(b)


def test_missing_lock_reads_as_empty(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "nope" / LOCK_NAME, "f") == empty_lock("f")


@pytest.mark.parametrize("text", ["version: 2\nsteps: {}\n", "steps: {}\n", "", "- 1\n", "version: '1'\n"])
def test_wrong_version_or_shape_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(text)
    with pytest.raises(DevloopError, match="version"):
        read_lock(path, "f")


def test_missing_or_broken_sections_are_filled_in(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text("version: 1\nfeature: f\nsteps: null\ngates: [1]\n")
    lock = read_lock(path, "f")
    assert lock["steps"] == {}
    assert lock["gates"] == {}
    assert lock["artifacts"] == {}


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
    lock["steps"]["plan"]["state"] = "stale"
    write_lock(path, lock)
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_NAME]
    assert read_lock(path, "daily-ingest")["steps"]["plan"]["state"] == "stale"


def test_failed_write_keeps_the_old_lock(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    write_lock(path, sample_lock())
    before = path.read_bytes()
    bad = sample_lock()
    bad["steps"]["plan"]["obj"] = object()  # the safe dumper refuses it
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_section, artifacts=_section)
def test_dump_then_read_round_trips(tmp_path: Path, steps: dict[str, Any], artifacts: dict[str, Any]) -> None:
    lock = {**empty_lock("f"), "steps": steps, "artifacts": artifacts}
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
    lock = {**empty_lock("f"), "steps": {value: {"note": value, "list": [value]}}, "artifacts": {"a": {"k": value}}}
    path = tmp_path / LOCK_NAME
    write_lock(path, lock)
    assert read_lock(path, "f") == lock
