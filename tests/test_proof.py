"""The proof line's format and its checker, on files made here (git's index left out: every file is read)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from devloop.provenance import gitclean, proof
from devloop.provenance.lockfile import read_lock

BODY = b'# devloop.lock: provenance written by devloop. Commit it; do not edit by hand.\n{\n  "version": 2\n}\n'


def lay_out(root: Path) -> dict[str, str]:
    (root / "plans/a").mkdir(parents=True)
    (root / "plans/a/plan.md").write_text("# Plan\n")
    (root / "deploy").mkdir()
    (root / "devloop.yaml").write_text("roles: {}\n")
    return {
        "plans/a/plan.md": gitclean.blob_id(b"# Plan\n"),
        "deploy": proof.folder_id(str(root / "deploy")),
        "deploy/a": "",
    }


def raw_for(root: Path, files: dict[str, str], body: bytes = BODY) -> bytes:
    return body + proof.line(body, proof.stamp(root, again=True), files, {"plan": ["fresh", []]})


def test_the_line_splits_off_and_nothing_else_does() -> None:
    line = proof.line(BODY, "s", {}, {})
    body, found = proof.split(BODY + line)
    assert body == BODY and found is not None and found["body"] == hashlib.sha256(BODY).hexdigest()
    assert proof.split(BODY) == (BODY, None)
    assert proof.split(BODY + line[:-1]) == (BODY + line[:-1], None)  # cut short: no newline at its end
    assert proof.split(BODY + line + b"more\n") == (BODY + line + b"more\n", None)  # not the last line
    assert proof.split(BODY + proof.MARK + b"{not json\n") == (BODY, None)
    assert proof.split(BODY + proof.MARK + b"[1]\n") == (BODY, None)


def test_the_lock_reader_reads_the_records_alone(tmp_path: Path) -> None:
    plain, proved = tmp_path / "plain.lock", tmp_path / "proved.lock"
    plain.write_bytes(BODY)
    proved.write_bytes(BODY + proof.line(BODY, "s", {}, {}))
    assert read_lock(plain, "a").to_dict() == read_lock(proved, "a").to_dict()


def test_a_proof_holds_exactly_while_its_files_folders_and_stamp_are_as_recorded(tmp_path: Path) -> None:
    files = lay_out(tmp_path)
    raw = raw_for(tmp_path, files)
    held = proof.Checker(tmp_path).holds(raw)
    assert held is not None and held[0] == {"plan": ["fresh", []]} and sorted(held[1]) == sorted(files)
    assert proof.Checker(tmp_path).holds(BODY.replace(b"2", b"3") + raw[len(BODY) :]) is None  # other records
    (tmp_path / "plans/a/plan.md").write_text("# Plan!\n")
    assert proof.Checker(tmp_path).holds(raw) is None
    (tmp_path / "plans/a/plan.md").write_text("# Plan\n")
    assert proof.Checker(tmp_path).holds(raw) is not None
    (tmp_path / "deploy/a").mkdir()  # a missing path appears (and the folder holding it changes)
    assert proof.Checker(tmp_path).holds(raw) is None
    (tmp_path / "deploy/a").rmdir()
    (tmp_path / "devloop.yaml").write_text("roles: {} # edited\n")
    proof._stamps.clear()
    assert proof.Checker(tmp_path).holds(raw) is None  # the stamp holds devloop.yaml's bytes


@pytest.mark.parametrize("how", ["file-link", "folder-link"])
def test_the_same_bytes_through_a_link_do_not_hold(tmp_path: Path, how: str) -> None:
    files = lay_out(tmp_path)
    raw = raw_for(tmp_path, files)
    away = tmp_path.parent / f"{tmp_path.name}-away"
    if how == "file-link":
        away.mkdir()
        os.replace(tmp_path / "plans/a/plan.md", away / "plan.md")
        os.symlink(away / "plan.md", tmp_path / "plans/a/plan.md")
    else:
        os.replace(tmp_path / "plans/a", away)
        os.symlink(away, tmp_path / "plans/a")
    assert (tmp_path / "plans/a/plan.md").read_text() == "# Plan\n"
    assert proof.Checker(tmp_path).holds(raw) is None


@pytest.mark.parametrize("rel", ["/etc/passwd", "../x", "plans/../x", ".git/config", "a//b", "./a", ""])
def test_a_path_that_is_not_plainly_below_the_workspace_never_holds(tmp_path: Path, rel: str) -> None:
    lay_out(tmp_path)
    assert proof.Checker(tmp_path).holds(raw_for(tmp_path, {rel: ""})) is None


@pytest.mark.parametrize(
    "entry",
    [{"plans/a/plan.md": ""}, {"plans/a/plan.md": "d:0"}, {"deploy": ""}, {"deploy": "0" * 40}, {"deploy/a": "0" * 40}],
)
def test_a_recorded_kind_that_is_not_what_is_there_never_holds(tmp_path: Path, entry: dict[str, str]) -> None:
    lay_out(tmp_path)
    assert proof.Checker(tmp_path).holds(raw_for(tmp_path, entry)) is None


def test_another_format_or_stamp_never_holds(tmp_path: Path) -> None:
    files = lay_out(tmp_path)
    raw = raw_for(tmp_path, files)
    assert proof.Checker(tmp_path).holds(raw.replace(b'"format":1', b'"format":2')) is None
    stamp = proof.stamp(tmp_path).encode()
    assert proof.Checker(tmp_path).holds(raw.replace(stamp, b"0" * len(stamp))) is None


def test_a_file_just_written_is_taken_by_its_known_id_only_while_its_stat_is_the_one_noted(tmp_path: Path) -> None:
    files = lay_out(tmp_path)
    raw = raw_for(tmp_path, files)
    full = str(tmp_path / "plans/a/plan.md")
    st = os.lstat(full)
    key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    wrong = gitclean.blob_id(b"something else\n")
    assert proof.Checker(tmp_path, known={full: (key, wrong)}).holds(raw) is None  # the noted id is used, not read
    assert proof.Checker(tmp_path, known={full: (key, files["plans/a/plan.md"])}).holds(raw) is not None
    os.utime(full, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # its stat moved on: the note no longer counts
    assert proof.Checker(tmp_path, known={full: (key, wrong)}).holds(raw) is not None  # read: the bytes match
