"""The state of the files an author may read beyond its prompt, as part of its call's key.

Each file counts by its git blob id: the same bytes give the same id in
every clone, and a file git's index proves clean is not read at all.
Between author calls of one process, :mod:`devloop.provenance.cache.listing`
keeps each file's id while no event says it changed (no stat at all).
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from devloop.provenance import gitclean, hashing
from devloop.provenance.cache import listing
from devloop.provenance.hashing import Key, key_of
from devloop.runtime.atomic import atomic_write_text

# Files read in this process: path -> (stat key, blob id, when read). A file is read again when its stat
# changed, or when it was read within the racy window of its last change (a rewrite in the same tick keeps
# the stat): the rule hashing.settled applies to the verdict memo. Ids git's index proved are kept too:
# the next call with the same settled stat decodes no index entry.
_SEEN: dict[str, tuple[Key, str, int]] = {}


def blob_ids(root: Path, paths: Iterable[str], save: Callable[[str], bool] | None = None) -> dict[str, str]:
    """Path -> git blob id of each regular file among ``paths`` (relative to ``root``); a link by its target.

    ``:x`` marks an executable file. Paths that are gone or are not files are left out (a key is about
    what an author can read now). With ``save``, the ids of the paths it accepts are saved in
    ``.devloop/blob-ids.json`` with the stat that proves each (see :data:`_SAVED`): the next process reads
    none of those files and no index while their stats stay.
    """
    wanted = paths if isinstance(paths, (list, set, frozenset)) else list(paths)
    kept = listing.blob_ids(root, wanted, blob_of)
    if kept is not None:
        return kept
    if save is None or os.environ.get(listing.OFF, "") not in ("", "0"):  # off: nothing kept, nothing saved
        return _read_all(root, wanted, None, None)
    with _MUTEX:  # threads of one process share what is saved
        return _read_all(root, wanted, _saved(root), save)


def _read_all(
    root: Path, wanted: Iterable[str], saved: dict[str, tuple[Key, str]] | None, save: Callable[[str], bool] | None
) -> dict[str, str]:
    base = f"{root}/"
    index = _Index(root)
    out: dict[str, str] = {}
    order = sorted(set(wanted))
    changed = False
    lstat, regular = os.lstat, stat.S_ISREG
    for rel in order:
        full = base + rel
        hit = saved.get(rel) if saved is not None else None
        if hit is not None:  # the common case, kept lean: one stat proves the saved id
            try:
                st = lstat(full)
                if regular(st.st_mode) and hit[0] == (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino):
                    out[rel] = hit[1] + ":x" if st.st_mode & 0o100 else hit[1]
                    continue
            except OSError:
                pass
        blob = blob_of(full, rel, index)
        if blob is not None:
            out[rel] = blob
        if saved is not None and save is not None and save(rel):
            seen = _SEEN.get(full) if blob is not None and not blob.startswith("link:") else None
            now = (seen[0], seen[1]) if seen is not None and hashing.settled(seen[0], seen[2]) else None
            if saved.get(rel) != now:
                changed = True
                if now is None:
                    saved.pop(rel, None)
                else:
                    saved[rel] = now
    if saved is not None:
        gone = saved.keys() - set(order)  # no longer asked about: not listed any more
        for rel in gone:
            del saved[rel]
        if changed or gone:
            _save(root, saved)
    return out


# The ids saved for the next process: path -> (stat key, blob id), each read when its stat was already settled
# (older than the racy window), so the same stat later proves the same bytes, as git's index does. A file
# read too soon after its change is not saved: the next process reads it again.
_SAVED: dict[str, dict[str, tuple[Key, str]]] = {}
SAVED_FILE = ".devloop/blob-ids.json"
_MUTEX = threading.Lock()
_FORMAT = 2


def _saved(root: Path) -> dict[str, tuple[Key, str]]:
    """The ids saved by earlier processes (read once per process); an unreadable file counts as none.

    Saved in columns (paths, their stat keys four numbers each, blob ids): read back without a step per file.
    """
    key = str(root)
    if key not in _SAVED:
        got: dict[str, tuple[Key, str]] = {}
        try:
            data = json.loads((root / SAVED_FILE).read_bytes())
            paths, stats, blobs = data["paths"], data["stats"], data["blobs"]
            if (
                data.get("format") == _FORMAT
                and len(stats) == 4 * len(paths) == 4 * len(blobs)
                and all(type(b) is str for b in blobs)
            ):
                got = dict(zip(paths, zip(zip(*[iter(stats)] * 4, strict=True), blobs, strict=True), strict=True))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            got = {}
        _SAVED[key] = got
    return _SAVED[key]


def _save(root: Path, saved: dict[str, tuple[Key, str]]) -> None:
    if not (root / ".devloop").is_dir():
        return
    paths = sorted(saved)
    data = {
        "format": _FORMAT,
        "paths": paths,
        "stats": [n for p in paths for n in saved[p][0]],
        "blobs": [saved[p][1] for p in paths],
    }
    try:
        atomic_write_text(root / SAVED_FILE, json.dumps(data), fsync=False)
    except OSError:
        pass  # a cache: the next process reads the files again


class _Index:
    """git's index, read only when many files have no id proven by their stat.

    Decoding the index of a thousand features (15,000 entries) costs about 20 ms, as much as reading a few
    hundred small files: the first misses (a feature's own files, changed since the last run, its earlier
    rounds' reviews) are read, and the index only after that.
    """

    READ_FIRST = 200

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index: Any = None
        self.misses = 0

    def clean(self, rel: str, key: Key) -> str | None:
        self.misses += 1
        if self.misses <= self.READ_FIRST:
            return None
        if self.misses == self.READ_FIRST + 1:
            self.index = gitclean.current(self.root)
        return None if self.index is None else self.index.clean(rel, key)  # type: ignore[no-any-return]


def blob_of(full: str, rel: str, index: Any) -> str | None:
    """One path's entry in :func:`blob_ids` (None: left out), its stat taken now."""
    try:
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            return "link:" + os.readlink(full)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    key = key_of(st)
    known = _SEEN.get(full)
    if known is not None and known[0] == key and hashing.settled(key, known[2]):
        blob = known[1]
    else:
        read_ns = time.time_ns()
        blob = index.clean(rel, key) if index is not None else None
        if blob is None:
            try:
                with open(full, "rb") as fh:
                    blob = gitclean.blob_id(fh.read())
            except OSError:
                return None
        _SEEN[full] = (key, blob, read_ns)
    return blob + (":x" if st.st_mode & 0o100 else "")  # the executable bit is content to git too
