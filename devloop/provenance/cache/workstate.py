"""The state of the files an author may read beyond its prompt, as part of its call's key.

Each file counts by its git blob id: the same bytes give the same id in
every clone, and a file git's index proves clean is not read at all.
Between author calls of one process, :mod:`devloop.provenance.cache.listing`
keeps each file's id while no event says it changed (no stat at all).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devloop.provenance import gitclean, hashing
from devloop.provenance.cache import listing
from devloop.provenance.hashing import Key, key_of

# Files read in this process: path -> (stat key, blob id, when read). A file is read again when its stat
# changed, or when it was read within the racy window of its last change (a rewrite in the same tick keeps
# the stat): the rule hashing.settled applies to the verdict memo. Ids git's index proved are kept too:
# the next call with the same settled stat decodes no index entry.
_SEEN: dict[str, tuple[Key, str, int]] = {}


def blob_ids(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """Path -> git blob id of each regular file among ``paths`` (relative to ``root``); a link by its target.

    ``:x`` marks an executable file. Paths that are gone or are not files are left out (a key is about
    what an author can read now).
    """
    wanted = paths if isinstance(paths, (list, set, frozenset)) else list(paths)
    kept = listing.blob_ids(root, wanted, blob_of)
    if kept is not None:
        return kept
    index = gitclean.current(root)
    base = f"{root}/"
    out: dict[str, str] = {}
    for rel in sorted(set(wanted)):
        blob = blob_of(base + rel, rel, index)
        if blob is not None:
            out[rel] = blob
    return out


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
