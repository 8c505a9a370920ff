"""Content hashes a fresh clone need not compute: git already knows which files are unchanged.

A committed lock carries, beside each content hash it records, the git blob
id of the same bytes (``blobs``: sha256 -> blob id). In a fresh clone (or
whenever the verdict memo is empty) git's index holds every tracked file's
blob id and the stat data it had when git wrote it. A file whose stat key now
is exactly the one in the index, and whose index entry is not racily clean,
holds that blob's bytes (git's own rule, ``ie_match_stat``): if a lock paired
the blob with a sha256, that is the file's hash, and the file is not read.

git runs twice, through :mod:`devloop.runtime.gitsafe`: ``rev-parse
--git-path index`` finds the index, and ``ls-files --stage --debug`` prints
it. Neither reads the work tree, so no filter or hook the repository
configured can run. Racily clean entries (changed in the same
timestamp tick the index was written, by mtime or ctime), entries git
smudged, conflicts, symlinks and submodules are not trusted: those files are
hashed as before. The index is read between two stats of its file; a
rewrite meanwhile discards the table.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

# sha256 -> git blob id of the same bytes: learnt from each file devloop reads or writes, and from every lock read.
# Only non-blank contents are paired (a blank document's hash depends on how it is asked for).
BLOBS: dict[str, str] = {}
SHAS: dict[str, str] = {}  # the same pairs the other way: blob id -> sha256

Key = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode (as provenance.hashing keeps it)
MASK = 0xFFFFFFFF  # git's index keeps the low 32 bits of a file's size and inode


def blob_id(data: bytes) -> str:
    """git's object id of ``data`` as a blob (SHA-1 repositories)."""
    h = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    h.update(data)
    return h.hexdigest()


def note(sha: str, data: bytes) -> None:
    """Pair a content hash with its blob id, for the lock that will record ``sha``."""
    if sha not in BLOBS:
        blob = BLOBS[sha] = blob_id(data)
        SHAS.setdefault(blob, sha)


def learn(pairs: dict[str, str]) -> None:
    """Pairs recorded in a lock (sha256 -> blob id)."""
    for sha, blob in pairs.items():
        if isinstance(sha, str) and isinstance(blob, str):
            BLOBS.setdefault(sha, blob)
            SHAS.setdefault(blob, sha)


def pairs_for(hashes: set[str], recorded: dict[str, str]) -> dict[str, str]:
    """The pairs a lock holding ``hashes`` should carry: those known now, else those it already had."""
    out = {}
    for sha in hashes:
        blob = BLOBS.get(sha) or recorded.get(sha)
        if blob:
            out[sha] = blob
    return out


class Index:
    """git's index of one work tree: each entry's fields as git printed them, by path relative to the workspace."""

    def __init__(self, entries: dict[bytes, tuple[bytes, ...]], index_mtime_ns: int) -> None:
        self.entries = entries
        self.written = index_mtime_ns

    def clean(self, rel: str, key: Key) -> str | None:
        """The blob id the file holds, when git's own stat rule proves it unchanged since the index; else None.

        Only regular files at stage 0 with no flag set (no assume-unchanged,
        skip-worktree or intent-to-add), whose recorded mtime and ctime are
        both older than the index file: a racily clean entry (changed within
        the tick the index was written) is one git would read again, so
        devloop hashes it. Sizes and inodes are the low 32 bits git keeps.
        """
        entry = self.entries.get(rel.encode("utf-8", "surrogateescape"))
        if entry is None:
            return None
        mode, blob, stage, _, cs, cn, ms, mn, ino, size, flags = entry
        if mode not in (b"100644", b"100755") or stage != b"0" or flags != b"0":
            return None
        ctime = int(cs) * 1_000_000_000 + int(cn)
        mtime = int(ms) * 1_000_000_000 + int(mn)
        if ctime >= self.written or mtime >= self.written:
            return None
        if (key[0] & MASK, key[1], key[2], key[3] & MASK) != (int(size) & MASK, mtime, ctime, int(ino) & MASK):
            return None
        return blob.decode("ascii")

    def sha_of(self, rel: str, key: Key) -> str | None:
        """The sha256 of the file (``rel`` to the workspace) whose stat key is ``key``, when git and a lock prove it."""
        blob = self.clean(rel, key)
        return None if blob is None else SHAS.get(blob)


_index: dict[str, Index | None] = {}  # workspace root (with a slash) -> its index (None: git cannot tell)


def enable(root: Path) -> None:
    """Use git's index for files below ``root`` in this process (read when first needed)."""
    _index.setdefault(f"{root}/", _UNREAD)


_UNREAD = Index({}, 0)  # stands for an index not read yet


def lookup(path: str, key: Key) -> str | None:
    """The file's sha256 from git's index and the locks' pairs, or None (hash it)."""
    if not _index or not BLOBS:
        return None
    for prefix, index in _index.items():
        if path.startswith(prefix):
            if index is _UNREAD:
                index = _index[prefix] = load(Path(prefix))
            return None if index is None else index.sha_of(path[len(prefix) :], key)
    return None


def load(root: Path) -> Index | None:
    """git's index of the work tree holding ``root`` (its entries below ``root``); None when git cannot tell."""
    index_file = _index_file(root)
    return None if index_file is None else _read(root, index_file)


_FILES: dict[str, str | None] = {}  # workspace root -> the path of its git index file (None: no repository)
_CURRENT: dict[str, tuple[tuple[int, int, int, int] | None, Index | None]] = {}


def current(root: Path) -> Index | None:
    """Like :func:`load`, but read again only when the index file changed since the last read (one stat).

    For callers that ask many times in one process (the answer cache, once per step): an entry is
    still judged against each file's stat when looked up, so a file changed since is never taken as clean.
    """
    key = str(root)
    if key not in _FILES:
        _FILES[key] = _index_file(root)
    index_file = _FILES[key]
    if index_file is None:
        return None
    seen = _CURRENT.get(key)
    if seen is not None and seen[0] is not None and seen[0] == _stat(index_file):
        return seen[1]
    index = _read(root, index_file)
    _CURRENT[key] = (_stat(index_file) if index is not None else None, index)
    return index


def _index_file(root: Path) -> str | None:
    from devloop.runtime import gitsafe  # lazy: off the path of a no-op doit and devloop --help

    where = gitsafe.run(root, ["rev-parse", "--git-path", "index"], timeout=30)
    if where is None or where.returncode != 0:
        return None
    return os.path.join(root, where.stdout.decode("utf-8", "surrogateescape").strip())


def _read(root: Path, index_file: str) -> Index | None:
    from devloop.runtime import gitsafe  # lazy: off the path of a no-op doit and devloop --help

    before = _stat(index_file)
    listing = gitsafe.run(root, ["ls-files", "--stage", "--debug", "-z"], timeout=60)
    after = _stat(index_file)
    if listing is None or listing.returncode != 0 or before is None or before != after:
        return None
    return parse(listing.stdout, before[1])


def _stat(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


# One index entry of ``git ls-files --stage --debug -z``: the head, NUL, then git's five stat lines. Compiled
# when first used (re caches it): every no-op imports this module, and only a fresh clone parses an index.
_ENTRY = (
    rb"(\d+) ([0-9a-f]+) (\d)\t([^\0]*)\0"
    rb"  ctime: (\d+):(\d+)\n  mtime: (\d+):(\d+)\n  dev: -?\d+\tino: (-?\d+)\n"
    rb"  uid: -?\d+\tgid: -?\d+\n  size: (-?\d+)\tflags: ([0-9a-f]+)\n"
)


def parse(out: bytes, index_mtime_ns: int) -> Index:
    """The entries of ``git ls-files --stage --debug -z`` (run in the workspace root), judged when looked up."""
    return Index({m[3]: m for m in re.findall(_ENTRY, out)}, index_mtime_ns)
