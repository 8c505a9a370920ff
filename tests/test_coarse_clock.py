"""The verdict memo on file systems whose timestamps have whole seconds (ext2/3 with small inodes, FAT, HFS+).

Two same-size ``cp -p`` put-backs of different content within one second
leave the same size, mtime, ctime and inode: no stat can tell them apart.
Only the racy rule, applied to the newest of mtime and ctime, keeps the memo
from giving the first one's answer for the second. Run on a real ext2 image
on a loop mount when the test may mount one (root), and always through a
stat layer that drops the nanoseconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devloop.provenance import hashing, verdicts
from devloop.provenance.hashing import hash_file
from devloop.provenance.verdicts import Verdicts

OLD = 10_000_000_000


def put_back(path: Path, text: str, mtime_ns: int) -> None:
    """What ``cp -p`` does to a file that is there: new bytes in place, the source's old mtime."""
    with open(path, "r+b") as fh:
        fh.write(text.encode())
        fh.truncate()
    os.utime(path, ns=(mtime_ns, mtime_ns))


def start_of_a_second() -> None:
    """Wait until early in a wall-clock second, so that two writes fall in the same one."""
    while time.time() % 1 > 0.3:
        time.sleep(0.02)


def twice_in_one_second(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The issue's sequence; returns the two put-backs' stat keys. Fails if the memo answers for old content."""
    (root / "plans/a").mkdir(parents=True)
    plan = root / "plans/a/plan.md"
    plan.write_text("AAAA\n")
    old = time.time_ns() - OLD
    for p in (plan, root / "plans/a", root / "plans", root):
        os.utime(p, ns=(old, old))
    deps = ["plans/a/plan.md"]

    def memo() -> Verdicts:
        return Verdicts(root, root / ".devloop", ("s", True))

    def answer(m: Verdicts) -> str:
        """What a run takes as plan.md's hash: the memo's, else the file's (kept when the memo allows)."""
        hashing._seen.clear()
        hashing.OBSERVED.clear()
        kept = m.get("a:plan")
        if kept is not None:
            return kept
        sha = hash_file(root / "plans/a/plan.md")
        m.record("a:plan", sha, deps)
        m.save()
        return sha

    time.sleep(hashing.RACY_NS / 1e9 + 1.1)  # a pause: now plan.md's stat proves its content
    monkeypatch.setattr(verdicts, "STARTED_NS", time.time_ns())
    assert answer(memo()) == hash_file(plan)
    assert memo().get("a:plan") == hash_file(plan)  # kept: the memo is in use
    start_of_a_second()
    put_back(plan, "BBBB\n", old)
    first = hashing.key_of(os.stat(plan))
    monkeypatch.setattr(verdicts, "STARTED_NS", time.time_ns())  # a no-op run, at once
    assert answer(memo()) == hash_file(plan)
    put_back(plan, "CCCC\n", old)
    second = hashing.key_of(os.stat(plan))
    monkeypatch.setattr(verdicts, "STARTED_NS", time.time_ns())  # the next run
    seen = answer(memo())
    assert seen == hashing.hash_bytes(b"CCCC\n"), "the memo gave an answer for content that is gone"
    return first, second


class _Coarse:
    """A stat result whose timestamps are whole seconds."""

    def __init__(self, st: os.stat_result) -> None:
        self._st = st

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._st, name)
        if name.endswith("time_ns"):
            return value - value % 1_000_000_000
        if name in ("st_mtime", "st_ctime", "st_atime"):
            return float(int(value))
        return value


@pytest.fixture
def coarse_stat(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.stat

    def stat(path: Any, *args: Any, **kw: Any) -> Any:
        return _Coarse(real(path, *args, **kw))

    monkeypatch.setattr(os, "stat", stat)


def in_one_second(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """:func:`twice_in_one_second`, again in a new folder when a loaded machine let the two put-backs fall in
    two seconds (then the stats differ and the run proves nothing); its own checks hold on every try."""
    for attempt in range(3):
        first, second = twice_in_one_second(folder / f"ws{attempt}", monkeypatch)
        if first == second:
            break
    return first, second


def test_through_a_stat_layer_with_whole_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, coarse_stat: None
) -> None:
    first, second = in_one_second(tmp_path, monkeypatch)
    assert first == second  # no stat tells the two put-backs apart: only the racy rule saved the answer


@pytest.fixture
def ext2(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("mkfs.ext2"):
        pytest.skip("mounting an ext2 image needs root and mkfs.ext2")
    image, mount = tmp_path / "fs.img", tmp_path / "mnt"
    mount.mkdir()
    with open(image, "wb") as fh:
        fh.truncate(16 * 1024 * 1024)
    made = subprocess.run(["mkfs.ext2", "-q", "-F", "-I", "128", str(image)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"mkfs.ext2: {made.stderr.strip()}")
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a loop device here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_on_a_real_ext2_file_system_with_one_second_timestamps(ext2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probe = ext2 / "probe"
    probe.write_text("x")
    assert os.stat(probe).st_mtime_ns % 1_000_000_000 == 0  # 128-byte inodes: whole seconds
    first, second = in_one_second(ext2, monkeypatch)
    assert first == second
