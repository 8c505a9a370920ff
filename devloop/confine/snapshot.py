"""The snapshot layer: the workspace before and after a program runs, and putting back what it may not change.

Every path is walked with ``lstat`` (links are entries of their own, never
followed), ignored files and nested repositories included: git's listing is
never the source, because it hides exactly what a hostile program would hide
behind. A path's key is its type, mode, size, times (mtime and ctime: a
put-back with an old mtime still moves ctime) and inode, so a rewrite that
keeps size and mtime is still seen.

The content of each file outside the reach is copied before the program
runs (up to a budget), so that a change there can be put back; the program's
version is archived first, never lost.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from devloop.confine.reach import Reach
from devloop.runtime import journal
from devloop.runtime.atomic import archive, atomic_write_bytes, remove
from devloop.runtime.pids import alive

COPY_BUDGET = 128 * 1024 * 1024  # bytes of content copied per snapshot
COPY_MAX_FILE = 16 * 1024 * 1024  # a file larger than this is watched, not copied
# Never compared: devloop's and doit's runtime files, rewritten by every run and trusted by none.
RUNTIME = (".devloop/journal.log", ".devloop/calls")
_TEMP = re.compile(r"^\..+\.devloop-(\d+)-[a-z0-9_]{8}\.tmp$")  # a devloop writer's file before its rename


def _runtime(rel: str, name: str) -> bool:
    """doit's database (devloop never trusts it), and the temp file of a devloop writer still at work."""
    if rel in RUNTIME or rel.startswith(".devloop/doit.db") or ("/" not in rel and name.startswith(".doit.db")):
        return True
    temp = _TEMP.match(name)
    if temp is None:
        return False

    return alive(int(temp.group(1)))


Key = tuple[object, ...]


def walk(root: Path, skip: frozenset[str] = frozenset(), under: tuple[str, ...] = ("",)) -> dict[str, Key]:
    """Every file, link and folder below ``root`` (relative paths), but ``skip`` and devloop's runtime files.

    ``under`` are the folders of ``root`` walked ("" is all of it; paths stay relative to ``root``); a
    file named there is looked at alone.
    """
    out: dict[str, Key] = {}
    for u in under:
        if u and not os.path.isdir(os.path.join(root, u)):
            key = _key(os.path.join(root, u))
            if key is not None:
                out[u] = key
    stack = [(f"{u}/" if u else "", os.path.join(root, u) if u else str(root)) for u in under]
    while stack:
        rel_dir, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
            if rel in skip or _runtime(rel, entry.name):
                continue
            key = _key(entry.path)
            if key is None:
                continue
            out[rel] = key
            if key[0] == "d":
                stack.append((rel + "/", entry.path))
    return out


def _key(path: str) -> Key | None:
    try:
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            return ("d", stat.S_IMODE(st.st_mode))
        if stat.S_ISLNK(st.st_mode):
            return ("l", os.readlink(path))
    except OSError:
        return None
    return ("f", st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass
class Snapshot:
    """Keys of every path walked, and the content of those outside the reach (for putting back)."""

    root: Path
    keys: dict[str, Key]
    copies: dict[str, bytes] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    under: tuple[str, ...] = ("",)

    def walk_again(self) -> dict[str, Key]:
        return walk(self.root, self.skip, self.under)

    def content(self, rel: str) -> tuple[bytes, bool] | None:
        """What ``rel`` held before: (bytes, verified); an unwalked size is trusted (not verified); None: unknown."""
        if rel in self.copies:
            return self.copies[rel], True
        key = self.keys.get(rel)
        if key is None:
            return b"", True
        return None


def take(
    reach: Reach, skip: frozenset[str] = frozenset(), budget: int = COPY_BUDGET, under: tuple[str, ...] = ("",)
) -> Snapshot:
    """Walk the workspace (or its folder ``under``); copy what lies outside ``reach``, smallest first, in ``budget``."""
    keys = walk(reach.root, skip, under)
    snap = Snapshot(reach.root, keys, skip=skip, under=under)
    outside = [(k[2], rel) for rel, k in keys.items() if k[0] == "f" and reach.why_not(rel) is not None]
    left = budget
    for size, rel in sorted(outside):  # type: ignore[type-var]
        if size > COPY_MAX_FILE or size > left:  # type: ignore[operator]
            break
        try:
            with open(reach.root / rel, "rb") as fh:
                data = fh.read(COPY_MAX_FILE + 1)
        except OSError:
            continue
        snap.copies[rel] = data
        left -= len(data)
    return snap


def changes(before: Snapshot, after: dict[str, Key]) -> list[str]:
    """Paths added, changed or removed; a folder only when it appeared or went (its times change with its files)."""
    out = []
    for rel in set(before.keys) | set(after):
        old, new = before.keys.get(rel), after.get(rel)
        if old != new:
            out.append(rel)
    return sorted(out)


def devloops(rel: str, root: Path, before: Snapshot, notes: journal.Notes) -> bool:
    """Whether the change of ``rel`` is one devloop itself made during the window (see :mod:`journal`)."""
    path = root / rel
    if rel in notes.contents:
        try:
            now = journal.digest(os.fsencode(os.readlink(path)) if path.is_symlink() else path.read_bytes())
        except FileNotFoundError:
            now = journal.GONE
        except OSError:
            return False
        if now in notes.contents[rel]:
            return True
    old = before.content(rel) if rel in notes.appends else None
    if old is not None:
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if data.startswith(old[0]) and notes.appended_only(rel, data[len(old[0]) :]):
            return True
    old_key = before.keys.get(rel)
    kind = os.path.isdir(path) and not path.is_symlink()
    return (kind or (old_key is not None and old_key[0] == "d")) and notes.below(rel)


@dataclass
class PutBack:
    undone: list[str] = field(default_factory=list)  # restored, or removed when new
    kept: list[str] = field(default_factory=list)  # changed, but no copy to restore from


def put_back(
    snap: Snapshot, paths: list[str], history: Path, notes: journal.Notes | None = None, reason: str = "refused"
) -> PutBack:
    """Undo the changes of ``paths``: each program's version archived, then the old one restored or the new removed.

    Deepest paths first, so that a folder the program made is empty when it
    is removed. What devloop itself appended meanwhile (``notes``: the
    ledger's lines of this window) is appended again to the restored file.
    """

    root = snap.root
    out = PutBack()
    for rel in sorted(paths, key=lambda p: (-p.count("/"), p)):
        path = root / rel
        old = snap.keys.get(rel)
        now_dir = path.is_dir() and not path.is_symlink()
        if old is not None and old[0] == "d":
            if not os.path.lexists(path):
                path.mkdir(parents=True, exist_ok=True)
            if now_dir or not os.path.lexists(path) or path.is_dir():
                os.chmod(path, old[1])  # type: ignore[arg-type]
                out.undone.append(rel)
            continue
        if old is not None and old[0] == "f" and rel not in snap.copies:
            out.kept.append(rel)
            continue
        if now_dir:
            if old is None:  # a new folder: removed once its files out of reach are gone
                if _empty(path):
                    path.rmdir()
                    out.undone.append(rel)
                continue
            _move_aside(path, root, history, reason)  # a folder where a file or link was
        elif os.path.lexists(path):
            archive(root, path, history, reason)
            remove(path)
        if old is None:
            out.undone.append(rel)
        elif old[0] == "l":
            path.parent.mkdir(parents=True, exist_ok=True)
            with journal.writing(path, os.fsencode(str(old[1]))):
                os.symlink(str(old[1]), path)
            out.undone.append(rel)
        else:
            appended = notes.appended(rel) if notes is not None else b""
            atomic_write_bytes(path, snap.copies[rel] + (appended or b""), stat.S_IMODE(old[1]))  # type: ignore[arg-type]
            out.undone.append(rel)
    return out


def _empty(path: Path) -> bool:
    try:
        return not any(os.scandir(path))
    except OSError:
        return False


def _move_aside(path: Path, root: Path, history: Path, reason: str) -> None:
    """A folder put where a file was: moved whole into the archive."""
    import time

    dest = history / f"{time.strftime('%Y%m%d-%H%M%S')}.{reason}" / path.relative_to(root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(dest))
