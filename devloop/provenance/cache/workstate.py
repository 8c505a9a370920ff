"""The state of the files an author may read beyond its prompt, as part of its call's key.

Each file counts by its git blob id: the same bytes give the same id in
every clone, and a file git's index proves clean is not read at all.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from devloop.provenance import gitclean
from devloop.provenance.hashing import key_of


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
        blob = index.clean(rel, key_of(st)) if index is not None else None
        if blob is None:
            try:
                with open(base + rel, "rb") as fh:
                    blob = gitclean.blob_id(fh.read())
            except OSError:
                continue
        out[rel] = blob + (":x" if st.st_mode & 0o100 else "")  # the executable bit is content to git too
    return out
