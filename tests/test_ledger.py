"""The ledger index reads only what was appended since, and never serves a replaced or cut file's lines."""

from __future__ import annotations

import json
from pathlib import Path

from devloop.provenance import ledger


def line(feature: str, n: int) -> str:
    return json.dumps({"feature": feature, "step": "plan", "call": f"c{n}", "status": "answered"}) + "\n"


def test_appended_lines_are_read_once_and_grouped_by_feature(tmp_path: Path) -> None:
    ledger.append(tmp_path, {"feature": "a", "step": "plan", "call": "c0", "status": "answered"})
    assert [e["call"] for e in ledger.of_feature(tmp_path, "a")] == ["c0"]
    path = tmp_path / ledger.LEDGER
    with path.open("a") as fh:
        fh.write(line("b", 1) + line("a", 2) + "not json\n" + '{"feature": "a", "call": "c3"')  # last one unfinished
    assert [e["call"] for e in ledger.of_feature(tmp_path, "a")] == ["c0", "c2"]
    assert [e["call"] for e in ledger.read(tmp_path)] == ["c0", "c1", "c2"]
    with path.open("a") as fh:
        fh.write(', "step": "plan"}\n')  # the line is complete now
    assert [e["call"] for e in ledger.of_feature(tmp_path, "a")] == ["c0", "c2", "c3"]
    assert ledger.of_feature(tmp_path, "nobody") == []


def test_a_replaced_or_shortened_ledger_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / ledger.LEDGER
    path.parent.mkdir(parents=True)
    path.write_text(line("a", 1) + line("a", 2))
    assert len(ledger.of_feature(tmp_path, "a")) == 2
    fresh = tmp_path / "new.jsonl"
    fresh.write_text(line("a", 9) + line("a", 8) + line("a", 7))
    fresh.replace(path)  # a git checkout or merge writes a new file
    assert [e["call"] for e in ledger.of_feature(tmp_path, "a")] == ["c9", "c8", "c7"]
    with path.open("r+") as fh:
        fh.truncate(len(line("a", 9)))
    assert [e["call"] for e in ledger.of_feature(tmp_path, "a")] == ["c9"]
    path.unlink()
    assert ledger.read(tmp_path) == []


def test_a_feature_named_inside_another_field_does_not_misfile_the_line(tmp_path: Path) -> None:
    ledger.append(tmp_path, {"feature": "b", "step": "plan", "detail": {"feature": "a"}, "call": "c1"})
    ledger.append(tmp_path, {"feature": "b", "step": "plan", "detail": 'said "feature": "a"', "call": "c2"})
    assert [e["call"] for e in ledger.of_feature(tmp_path, "b")] == ["c1", "c2"]
    assert ledger.of_feature(tmp_path, "a") == []
