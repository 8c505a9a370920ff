"""The state of the files an author may read beyond its prompt, as part of its call's key.

Each file counts by its git blob id: the same bytes give the same id in
every clone, and a file git's index proves clean is not read at all.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from devloop.provenance import gitclean, hashing
from devloop.provenance.hashing import Key, key_of

# Files read in this process: path -> (stat key, blob id, when read). A file is read again when its stat
# changed, or when it was read within the racy window of its last change (a rewrite in the same tick keeps
# the stat): the rule hashing.settled applies to the verdict memo.
_SEEN: dict[str, tuple[Key, str, int]] = {}


def blob_ids(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """Path -> git blob id of each regular file among ``paths`` (relative to ``root``); a link by its target.

    ``:x`` marks an executable file. Paths that are gone or are not files are left out (a key is about
    what an author can read now).
    """
    index = gitclean.current(root)
    base = f"{root}/"
    out: dict[str, str] = {}
    for rel in sorted(set(paths)):
        try:
            st = os.lstat(base + rel)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            out[rel] = "link:" + os.readlink(base + rel)
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        key = key_of(st)
        blob = index.clean(rel, key) if index is not None else None
        if blob is None:
            known = _SEEN.get(base + rel)
            if known is not None and known[0] == key and hashing.settled(key, known[2]):
                blob = known[1]
            else:
                try:
                    read_ns = time.time_ns()
                    with open(base + rel, "rb") as fh:
                        blob = gitclean.blob_id(fh.read())
                except OSError:
                    continue
                _SEEN[base + rel] = (key, blob, read_ns)
        out[rel] = blob + (":x" if st.st_mode & 0o100 else "")  # the executable bit is content to git too
    return out
