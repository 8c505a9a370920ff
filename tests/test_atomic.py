"""devloop.runtime.atomic: whole-file writes and archive-before-overwrite."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from devloop.runtime.atomic import archive, atomic_write_bytes, atomic_write_text


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_creates_parents_and_content(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.txt"
    atomic_write_text(path, "héllo ✓\n")
    assert path.read_text(encoding="utf-8") == "héllo ✓\n"
    assert path.read_bytes() == "héllo ✓\n".encode()


def test_write_replaces_content(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    atomic_write_text(path, "a long first version\n")
    atomic_write_text(path, "v2")
    assert path.read_text() == "v2"


def test_new_file_gets_0644(tmp_path: Path) -> None:
    path = tmp_path / "new.txt"
    atomic_write_text(path, "x")
    assert mode_of(path) == 0o644


def test_existing_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "run.sh"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o751)
    atomic_write_text(path, "#!/bin/sh\nexit 0\n")
    assert mode_of(path) == 0o751
    assert path.read_text() == "#!/bin/sh\nexit 0\n"


def test_explicit_mode_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "smoke.sh"
    atomic_write_text(path, "#!/bin/sh\n", mode=0o755)
    assert mode_of(path) == 0o755
    atomic_write_text(path, "#!/bin/sh\n", mode=0o600)
    assert mode_of(path) == 0o600


def test_no_temp_files_are_left(tmp_path: Path) -> None:
    path = tmp_path / "d" / "f.txt"
    for i in range(3):
        atomic_write_text(path, f"v{i}")
    atomic_write_bytes(tmp_path / "d" / "g.bin", b"\x00\x01")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["f.txt", "g.bin"]


def test_failed_write_leaves_no_temp_file_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_link_or_file_already_at_the_temp_name_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever guesses the next temp name and plants a link or a file there gets neither followed nor
    overwritten: the write takes another name, and the sweep still knows the name as devloop's."""
    import os

    from devloop.runtime import atomic

    outside = tmp_path / "outside.txt"
    outside.write_text("theirs")
    work = tmp_path / "w"
    work.mkdir()
    draws = iter([b"\x00\x00\x00\x01", b"\x00\x00\x00\x02", b"\x00\x00\x00\x03"])
    monkeypatch.setattr(atomic.os, "urandom", lambda n: next(draws))
    planted_link = work / f".f.txt.devloop-{os.getpid()}-00000001.tmp"
    planted_link.symlink_to(outside)
    planted_file = work / f".f.txt.devloop-{os.getpid()}-00000002.tmp"
    planted_file.write_text("planted")
    atomic_write_text(work / "f.txt", "mine")
    assert (work / "f.txt").read_text() == "mine" and not (work / "f.txt").is_symlink()
    assert outside.read_text() == "theirs" and planted_file.read_text() == "planted"
    assert atomic._TEMP.fullmatch(planted_link.name) and atomic._TEMP.fullmatch(planted_file.name)


# -- archive -----------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "plans" / "f").mkdir(parents=True)
    (tmp_path / "plans" / "f" / "plan.md").write_text("# Plan v1\n")
    return tmp_path


def test_archive_copies_into_a_stamped_folder(root: Path) -> None:
    src = root / "plans" / "f" / "plan.md"
    history = root / "plans" / "f" / ".history"
    dest = archive(root, src, history)
    assert dest is not None
    assert dest.read_text() == "# Plan v1\n"
    rel = dest.relative_to(history)
    assert rel.parts[1:] == ("plans", "f", "plan.md")
    assert len(rel.parts[0]) == len("20240101-120000")
    assert rel.parts[0][8] == "-" and rel.parts[0].replace("-", "").isdigit()
    assert src.read_text() == "# Plan v1\n"  # a copy, not a move


def test_archive_with_reason_suffixes_the_stamp(root: Path) -> None:
    history = root / ".history"
    dest = archive(root, root / "plans" / "f" / "plan.md", history, reason="force")
    assert dest is not None
    assert dest.relative_to(history).parts[0].endswith(".force")


def test_archive_of_a_missing_file_is_none(root: Path) -> None:
    history = root / ".history"
    assert archive(root, root / "nope.md", history) is None
    assert not history.exists()


def test_archive_outside_root_uses_the_file_name(root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("other") / "x.txt"
    other.write_text("x")
    history = root / ".history"
    dest = archive(root, other, history)
    assert dest is not None
    assert dest.parent.parent == history
    assert dest.name == "x.txt"


def test_two_archives_in_the_same_second_do_not_overwrite(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Freeze the clock (stdlib, not devloop) so every archive lands in the same second.
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "20240101-120000")
    src = root / "plans" / "f" / "plan.md"
    history = root / ".history"
    dests = []
    for i in range(3):
        src.write_text(f"# Plan v{i}\n")
        d = archive(root, src, history)
        assert d is not None
        dests.append(d)
    assert [d.relative_to(history).parts[0] for d in dests] == [
        "20240101-120000",
        "20240101-120000-2",
        "20240101-120000-3",
    ]
    assert [d.read_text() for d in dests] == ["# Plan v0\n", "# Plan v1\n", "# Plan v2\n"]
    a = archive(root, src, history, reason="redo")
    b = archive(root, src, history, reason="redo")
    assert a is not None and b is not None
    assert (a.relative_to(history).parts[0], b.relative_to(history).parts[0]) == (
        "20240101-120000.redo",
        "20240101-120000.redo-2",
    )


def test_different_files_share_a_stamp_folder(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "20240101-120000")
    (root / "plans" / "f" / "validation.md").write_text("# Checks\n")
    history = root / ".history"
    a = archive(root, root / "plans" / "f" / "plan.md", history)
    b = archive(root, root / "plans" / "f" / "validation.md", history)
    assert a is not None and b is not None
    assert a.parent == b.parent == history / "20240101-120000" / "plans" / "f"


def test_archive_keeps_the_file_mode(root: Path) -> None:
    src = root / "run.sh"
    src.write_text("#!/bin/sh\n")
    src.chmod(0o755)
    dest = archive(root, src, root / ".history")
    assert dest is not None
    assert mode_of(dest) == 0o755
