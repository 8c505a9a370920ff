"""What git lists outside the loop's folders, saved between processes and proven again by stat.

An author's key holds git's listing of the workspace outside the loop's
folders (see :mod:`devloop.steps.answer_cache`). A process that watches
keeps it from its second author call on (:mod:`.listing`); a run with one
author call, such as the implementer after an edit, asked git again, and at
a thousand features git's walk of the workspace was most of that step's own
time. So the listing is saved in ``.devloop/author-view.json`` with the
proof git's own untracked cache rests on:

- every folder git walks (each one it does not ignore, the root included)
  by stat: a name created, deleted or moved in a folder changes the
  folder's mtime and ctime, and a new folder changes its parent's;
- every ``.gitignore`` in those folders, and what git reads besides (the
  index, the configs, the exclude files: :func:`.listing.find_sources`) by
  stat;
- git's program, ``HOME`` and ``XDG_CONFIG_HOME``, devloop's code and the
  workspace's path, as they were.

A saved listing is used only when every one of these stats equals the saved
one. It is saved only when each was already older than the listing by more
than the racy window (:data:`hashing.RACY_NS`): a change made in the same
clock tick as the listing could hide behind an unchanged stat, and one made
after the listing started shows as a stat newer than that. The sources are
read before the listing and again after it, and must not have moved. A
nested repository, a linked ``.gitignore`` or a name git could read as
pathspec magic leaves nothing saved. As with the watches, only local file
systems (on Linux, ``/proc/self/mountinfo``), and ``DEVLOOP_NO_WATCH=1``
turns this off: every call asks git.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from devloop.provenance import hashing
from devloop.provenance.cache import listing
from devloop.provenance.hashing import Key
from devloop.runtime import gitsafe
from devloop.runtime.atomic import atomic_write_text

FILE = "author-view.json"
FORMAT = 1
STATE_DIR = ".devloop"
# In this process: listings taken from the saved view, listings saved, and of those the ones whose folder
# stats were kept from the view before (only the index had moved).
COUNTS = {"used": 0, "saved": 0, "kept folders": 0}


def _off(root: Path) -> bool:
    """Turned off, or a file system whose folder stats another machine's changes may not reach in time."""
    return os.environ.get(listing.OFF, "") not in ("", "0") or not _local(str(root))


@functools.cache
def _local(root: str) -> bool:
    """On Linux, only local file systems (as for the watches); elsewhere, stats are trusted as the memo trusts them."""
    if not os.path.exists("/proc/self/mountinfo"):
        return True
    return listing._local(os.path.realpath(root))


def _lkey(path: str) -> Key | None:
    try:
        return hashing.key_of(os.lstat(path))
    except OSError:
        return None


def _folder_key(root: Path, rel: str) -> Key | None:
    """A folder's stat key; the root followed (the workspace may be reached through a link), the rest not."""
    if rel:
        return _lkey(f"{root}/{rel}")
    try:
        return hashing.key_of(os.stat(root))
    except OSError:
        return None


def _plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), to compare with what was saved."""
    return json.loads(json.dumps(value))


def _who(root: Path, skip: set[str], own: str) -> Any:
    """What the listing was made for and by: a saved one made otherwise proves nothing here."""
    git = gitsafe.git_program(root)
    return _plain(
        [
            FORMAT,
            hashing.package_stamp()[0],
            str(root),
            sorted(skip),
            own,
            git,
            listing._key(git) if git else None,
            os.environ.get("HOME", ""),
            os.environ.get("XDG_CONFIG_HOME", ""),
        ]
    )


def load(root: Path, skip: set[str], own: str) -> set[str] | None:
    """The saved listing of the workspace outside ``skip`` and ``own``, when every stat proves it; else None.

    When only git's index moved (a commit, an add) and every folder and ``.gitignore`` is as saved, the
    folders' stats still prove the folder part: they are kept for :meth:`Proof.save`, which then need not
    walk the folders again (the listing itself is asked of git: the index says what is tracked).
    """
    _FOLDERS.pop(str(root), None)
    if _off(root):
        return None
    try:
        data = json.loads((root / STATE_DIR / FILE).read_bytes())
        if not isinstance(data, dict) or data.get("who") != _who(root, skip, own):
            return None
        moved = [path for path, key in data["sources"] if listing._key(path) != (tuple(key) if key else None)]
        if moved and moved != [data.get("index")]:
            return None
        stats = {rel: tuple(key) for rel, key in data["stats"].items()}
        if _now(root, stats) != stats:
            return None
        if moved:
            _FOLDERS[str(root)] = stats
            return None
        listed = data["listed"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        return None
    COUNTS["used"] += 1
    return set(listed)


# Folder and .gitignore stats a saved view proved when only the index had moved, by workspace (see load).
_FOLDERS: dict[str, dict[str, Key]] = {}


def _now(root: Path, stats: dict[str, Key]) -> dict[str, Key | None]:
    """The stat key now of each folder (``""``: the root) and ``.gitignore`` of ``stats``."""
    base = f"{root}/"
    return {rel: _lkey(base + rel) if rel else _folder_key(root, rel) for rel in stats}


class Proof:
    """The sources' stats and the time, taken before git lists; :meth:`save` adds the folders' after."""

    def __init__(self, root: Path, skip: set[str], own: str) -> None:
        self.root, self.skip, self.own = root, skip, own
        self.started = time.time_ns()
        self.sources = listing.find_sources(root)
        self.index = getattr(self.sources, "index", None)

    @classmethod
    def start(cls, root: Path, skip: set[str], own: str) -> Proof | None:
        """None where nothing would be saved (turned off, no state folder, git cannot tell its sources)."""
        if _off(root) or not (root / STATE_DIR).is_dir():
            return None
        proof = cls(root, skip, own)
        return proof if proof.sources is not None else None

    def save(self, listed: set[str]) -> bool:
        """Save ``listed`` (git's listing outside ``skip`` and ``own``) with its proof; False: nothing saved."""
        kept = _FOLDERS.pop(str(self.root), None)
        if kept is not None and _now(self.root, kept) == kept:
            stats: dict[str, Key] | None = kept  # only the index moved: the same folders, as they were
            COUNTS["kept folders"] += 1
        else:
            stats = self._folders(listed)
        if stats is None or [(p, listing._key(p)) for p, _ in self.sources or ()] != self.sources:
            return False
        bar = self.started - hashing.RACY_NS
        keys = [*stats.values(), *(k for _, k in self.sources or () if k is not None)]
        if any(hashing.newest(k) >= bar for k in keys):
            return False  # changed around the listing: the next listing may save
        data = {"who": _who(self.root, self.skip, self.own), "sources": self.sources, "stats": stats,
                "listed": sorted(listed), "index": self.index}  # fmt: skip
        try:
            atomic_write_text(self.root / STATE_DIR / FILE, json.dumps(data), fsync=False)
        except OSError:
            return False  # a cache: the next call lists again
        COUNTS["saved"] += 1
        return True

    def _folders(self, listed: set[str]) -> dict[str, Key] | None:
        """The stat key of every folder git walks (the root as ``""``) and of each ``.gitignore`` in them.

        A folder holding a listed path is walked; any other folder is walked unless git ignores it (asked of
        ``git check-ignore``, as :meth:`.listing.Tree._list_shared` does). None: something no stat can prove.
        """
        walked: set[str] = set()
        for p in listed:
            up = p.rstrip("/").rpartition("/")[0]
            while up and up not in walked:
                walked.add(up)
                up = up.rpartition("/")[0]
        base = f"{self.root}/"
        stats: dict[str, Key] = {}
        todo, dark = [""], []
        while todo or dark:
            if not todo:  # the folders no listed path is in, asked of git at once
                skipped = listing.ignored(self.root, dark)
                if skipped is None:
                    return None
                todo, dark = [d for d in dark if d not in skipped], []
                continue
            rel = todo.pop()
            full = base + rel if rel else str(self.root)
            key = _folder_key(self.root, rel)
            if key is None:
                return None
            stats[rel] = key
            try:
                with os.scandir(full) as entries:
                    for e in entries:
                        sub = f"{rel}/{e.name}" if rel else e.name
                        if not rel and (e.name in self.skip or e.name == self.own):
                            continue
                        if e.name == ".git":
                            return None  # a nested repository: git lists it, not what it holds
                        if e.name == ".gitignore":
                            st = os.lstat(e.path)
                            if not stat.S_ISREG(st.st_mode):
                                return None  # linked, or not a file: what it names could change unseen
                            stats[sub] = hashing.key_of(st)
                        elif e.is_dir(follow_symlinks=False):
                            (todo if sub in walked else dark).append(sub)
            except OSError:
                return None
        return stats
