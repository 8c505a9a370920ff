"""Content hashes. Hashes are hex SHA-256, short enough to read in a diff."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from devloop.provenance import gitclean

MISSING = "missing"
_BLANK_PROBE = 64 * 1024  # documents longer than this are not blank


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# A file modified less than this before it was read may be rewritten within the same mtime tick, keeping
# its size, mtime and inode: its stat proves nothing (git's "racily clean" entries). Two seconds covers
# the coarsest timestamps in use (FAT) and the lag of the kernel's coarse clock behind time.time_ns().
RACY_NS = 2_000_000_000

Key = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode

# path -> (stat key taken before the read, hash, blank, when read): what this process saw of each file
_seen: dict[str, tuple[Key, str, bool, int]] = {}
# path -> stat key (None: missing) taken just before this process read the file or found it missing
OBSERVED: dict[str, Key | None] = {}
# files this process hashed by reading them, those whose hash git's index proved (see gitclean), and
# features whose proof line held (see devloop.provenance.proof)
COUNTS = {"read": 0, "git": 0, "proof": 0}


def key_of(st: os.stat_result) -> Key:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def stat_key(path: str) -> Key | None:
    """The file's stat key now (None when missing), noted as observed: call it before reading the file.

    Inside :func:`quiet` a path is stat'ed once, and its first key is the answer.
    """
    if _quiet is not None:
        hit = _quiet.get(path, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
    try:
        key: Key | None = key_of(os.stat(path))
    except (FileNotFoundError, NotADirectoryError):
        key = None
    OBSERVED[path] = key
    if _quiet is not None:
        _quiet[path] = key
    return key


_quiet: dict[str, Key | None] | None = None  # path -> its first key, while no step of this process can write
_quiet_since = 0


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """A stretch in which this process runs no step (judging every step before doit builds a graph).

    Each file is stat'ed and hashed once in it, however many steps read it:
    a change meanwhile is one the judgement could have missed just after
    anyway, and the verdict memo compares what it keeps with a stat taken
    after (see devloop.provenance.verdicts).
    """
    global _quiet, _quiet_since
    _quiet, _quiet_since = {}, time.time_ns()
    try:
        yield
    finally:
        _quiet = None


def key_text(key: Key | None) -> str | None:
    """A stat key as one string, ``size:mtime_ns:ctime_ns:inode``: how the verdict memo keeps it."""
    return None if key is None else ":".join(map(str, key))


def newest(key: Key) -> int:
    """The later of the file's mtime and ctime: ``cp -p``, ``touch -r``, ``tar x`` and ``rsync -t`` set an old
    mtime, but the kernel sets the ctime of every change to now."""
    return max(key[1], key[2])


def settled(key: Key, read_ns: int) -> bool:
    """True when the file was last changed (by either clock) long enough before ``read_ns`` for its stat to
    prove its content."""
    return newest(key) < read_ns - RACY_NS


@functools.cache
def package_stamp() -> tuple[str, int]:
    """devloop's own code as installed (:func:`tree_stamp` of the package), taken once per process.

    Every cache that holds what devloop's code computed (the verdict memo,
    the parsed config and check blocks) rests on it, so any edit or upgrade
    of any module forgets them.
    """
    return tree_stamp(Path(__file__).resolve().parent.parent)


def tree_stamp(top: Path) -> tuple[str, int]:
    """A hash of the path and full stat key of every module and template below ``top``, and their newest change.

    What ``os.walk`` would visit (sorted, ``__pycache__`` and linked folders
    skipped), read with ``os.scandir`` and keys built in place: every no-op
    takes it, about 130 files.
    """
    parts, latest = [], 0
    todo = [str(top)]
    while todo:
        with os.scandir(todo.pop()) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        below = []
        for entry in entries:
            name = entry.name
            if entry.is_dir():
                if name != "__pycache__" and not entry.is_symlink():
                    below.append(entry.path)
            elif name.endswith((".py", ".j2")):
                st = os.stat(entry.path)
                parts.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}")
                latest = max(latest, st.st_mtime_ns, st.st_ctime_ns)
        todo.extend(reversed(below))  # depth first, in name order, as os.walk goes
    return hash_bytes("\n".join(parts).encode("utf-8", "surrogateescape"))[:20], latest


def hash_file(path: Path | str, blank_is_missing: bool = False) -> str:
    """Hash of the file's bytes, or ``MISSING`` when it does not exist.

    With ``blank_is_missing`` an empty or whitespace-only file counts as
    missing too: a document artifact nobody wrote (or one a person emptied)
    must never be adopted as a result.

    Within one process a file whose stat key is unchanged, and was already
    settled when it was read, is not read again: the no-op ``doit`` hashes
    each input once, and a same-tick rewrite is never missed.
    """
    key = str(path)
    skey = stat_key(key)
    if skey is None:
        return MISSING
    seen = _seen.get(key)
    still = seen is not None and _quiet is not None and seen[3] >= _quiet_since  # read in this quiet stretch
    if seen is None or seen[0] != skey or not (still or settled(skey, seen[3])):
        known = gitclean.lookup(key, skey)  # a fresh clone: git proves the bytes a lock paired with a hash
        if known is not None:
            COUNTS["git"] += 1
            seen = _seen[key] = (skey, known, False, time.time_ns())
            return seen[1]
        now = time.time_ns()
        try:
            with open(key, "rb") as fh:
                data = fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            OBSERVED[key] = None
            return MISSING
        COUNTS["read"] += 1
        blank = is_blank(data)
        seen = _seen[key] = (skey, hash_content(data, blank), blank, now)
    return MISSING if blank_is_missing and seen[2] else seen[1]


def is_blank(data: bytes) -> bool:
    """Empty or whitespace only (a document nobody wrote)."""
    return len(data) <= _BLANK_PROBE and not data.strip()


def hash_content(data: bytes, blank: bool | None = None) -> str:
    """The hash of a file's bytes, paired with their git blob id for the lock that records it (unless blank)."""
    sha = hash_bytes(data)
    if not (is_blank(data) if blank is None else blank):
        gitclean.note(sha, data)
    return sha


def is_document(rel: str) -> bool:
    """Artifacts that are prose the loop reads (plans, reviews, the smoke script), not code."""
    return rel.startswith(("plans/", "scripts/smoke/"))


def hash_output(root: str, rel: str) -> str:
    """An output's hash as staleness sees it: a blank document is missing."""
    return hash_file(root + rel, blank_is_missing=is_document(rel))


def hash_json(value: object) -> str:
    """Stable hash of a JSON-compatible value (key order does not matter)."""
    return hash_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())


def short(h: str | None) -> str:
    if not h:
        return "none"
    return h if h == MISSING else h[:12]
