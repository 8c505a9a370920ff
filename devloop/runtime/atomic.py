"""Writes that never leave a half-written file, and archives before overwrite."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from devloop.runtime import journal

# ``.<name>.devloop-<writer pid>-<random>.tmp``: a killed writer's leftover is recognisable as devloop's
# and as dead, so the next run that takes the workspace lock can remove it (see sweep_temp_files).
_TEMP = re.compile(r"\..+\.devloop-(\d+)-[a-z0-9_]{8}\.tmp")
_OLD_TEMP = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")  # before writers were named: only devloop's own files
_SKIP = {".git", ".hg", ".svn", ".history", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"}


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None, fsync: bool = True) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename over ``path``.

    ``fsync=False`` is for caches, which may be lost on power failure but
    must never be half-written. The temp file is written through its
    descriptor alone (no buffered file object, no second lookup of its
    name): a restore writes a thousand files, and these costs were a
    fifth of it.
    """
    try:
        fd, tmp = _temp_beside(path)
    except FileNotFoundError:  # its folder is not there yet (asked only then: a put-back writes thousands of files)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_beside(path)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
            if mode is None:
                try:
                    mode = os.stat(path).st_mode & 0o7777  # an overwrite keeps the file's mode
                except OSError:
                    mode = 0o644
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        with journal.writing(path, data):
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# O_EXCL: never an existing name, not even a link planted there (the open does not follow it)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new file ``.<name>.devloop-<pid>-<8 random hex digits>.tmp`` beside ``path``, open for writing (mode 0600)."""
    prefix = f"{path.parent}/.{path.name}.devloop-{os.getpid()}-"
    for _ in range(100):
        tmp = f"{prefix}{os.urandom(4).hex()}.tmp"
        try:
            return os.open(tmp, _CREATE, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name beside {path}")


def append_bytes(path: Path, data: bytes) -> None:
    """Append whole lines with O_APPEND, so that concurrent writers never interleave inside a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with journal.writing(path, data, append=True):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def remove(path: Path) -> None:
    """Remove one of devloop's own files (no error when it is already gone)."""
    with journal.writing(path, None):
        path.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str, mode: int | None = None, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode, fsync)


def sweep_temp_files(root: Path, skip: frozenset[str] = frozenset()) -> list[Path]:
    """Remove the temp files of writers that died mid-write (kill -9) anywhere below ``root``.

    Only files named by :func:`atomic_write_bytes` whose writer is no longer
    running, and unnamed ones of devloop's own files (a ``devloop.lock``, the
    state folder); never anything else. Called by the holder of the
    workspace lock, so no other run is writing those files. Folders named in
    ``skip`` (paths) are not entered.
    """
    removed = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP and os.path.join(folder, d) not in skip]
        for name in files:
            path = Path(folder, name)
            if name.endswith(".tmp") and _stale_temp(path, root):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _stale_temp(path: Path, root: Path) -> bool:
    from devloop.runtime.pids import alive  # lazy: off the path of a no-op doit and devloop --help

    named = _TEMP.fullmatch(path.name)
    if named:
        pid = int(named.group(1))
        return pid != os.getpid() and not alive(pid)
    old = _OLD_TEMP.fullmatch(path.name)
    return old is not None and (old.group(1) == "devloop.lock" or path.relative_to(root).parts[0] == ".devloop")


def archive(root: Path, path: Path, history: Path, reason: str = "") -> Path | None:
    """Copy ``path`` into ``history`` under a timestamped name; return the copy.

    Called before any overwrite so that nothing the loop or a human wrote is lost.
    A symbolic link is kept as a link, never followed.
    """
    if not path.exists() and not path.is_symlink():
        return None
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    suffix = f".{reason}" if reason else ""
    dest = history / f"{stamp}{suffix}" / rel
    n = 1
    while dest.exists():
        n += 1
        dest = history / f"{stamp}{suffix}-{n}" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():  # a link is archived as the link: its target may lie outside the workspace
        target = os.readlink(path)
        with journal.writing(dest, os.fsencode(target)):
            os.symlink(target, dest)
    else:
        with journal.writing(dest, path.read_bytes()):
            shutil.copy2(path, dest)
    return dest
