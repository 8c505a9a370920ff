"""Content hashes a fresh clone need not compute: git already knows which files are unchanged.

A committed lock carries, beside each content hash it records, the git blob
id of the same bytes (``blobs``: sha256 -> blob id). In a fresh clone (or
whenever the verdict memo is empty) git's index holds every tracked file's
blob id and the stat data it had when git wrote it. A file whose stat key now
is exactly the one in the index, and whose index entry is not racily clean,
holds that blob's bytes (git's own rule, ``ie_match_stat``): if a lock paired
the blob with a sha256, that is the file's hash, and the file is not read.

git runs once, through :mod:`devloop.runtime.gitsafe`: ``rev-parse
--git-path index --show-prefix`` finds the index and where the workspace
lies in the repository. The index itself is read here (:func:`parse_raw`):
the plain formats git writes by default (versions 2 and 3, SHA-1, whole),
checked against their trailing checksum. Any other (version 4, a split
index, a SHA-256 repository) is printed by ``ls-files --stage --debug``
instead. Neither reads the work tree, so no filter or hook the repository
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
import struct
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


class RawIndex(Index):
    """The same, read from the index file's bytes: an entry is decoded only when a file is looked up."""

    def __init__(self, data: bytes, offsets: dict[bytes, int], index_mtime_ns: int) -> None:
        super().__init__({}, index_mtime_ns)
        self.data, self.offsets = data, offsets

    def clean(self, rel: str, key: Key) -> str | None:
        pos = self.offsets.get(rel.encode("utf-8", "surrogateescape"))
        if pos is None:
            return None
        cs, cn, ms, mn, _, ino, mode, _, _, size, blob, flags = _RAW_ENTRY.unpack_from(self.data, pos)
        if mode not in (0o100644, 0o100755) or flags & 0xF000:  # a link, a submodule; a stage, a flag set
            return None
        ctime = cs * 1_000_000_000 + cn
        mtime = ms * 1_000_000_000 + mn
        if ctime >= self.written or mtime >= self.written:
            return None
        if (key[0] & MASK, key[1], key[2], key[3] & MASK) != (size, mtime, ctime, ino):
            return None
        return blob.hex()  # type: ignore[no-any-return]


# One on-disk index entry's fixed part: ctime s, ns, mtime s, ns, dev, ino, mode, uid, gid, size, SHA-1, flags.
_RAW_ENTRY = struct.Struct(">10I20sH")


def parse_raw(data: bytes, prefix: bytes, index_mtime_ns: int) -> RawIndex | None:
    """An index file of version 2 or 3 with SHA-1 ids and no split index, its entries below ``prefix``; else None.

    Only each entry's path and place are found here (git's layout: a
    62-byte head, 2 more bytes of extended flags when flagged, the path,
    then NULs to a multiple of 8); the rest is decoded when looked up.
    """
    if len(data) < 32 or data[:4] != b"DIRC" or hashlib.sha1(data[:-20], usedforsecurity=False).digest() != data[-20:]:
        return None  # not an index, cut short, or SHA-256 ids (a longer checksum)
    version, count = struct.unpack_from(">II", data, 4)
    if version not in (2, 3):
        return None
    end, pos, out = len(data) - 20, 12, {}
    find, flags_at = data.find, struct.Struct(">H").unpack_from
    cut = len(prefix)
    for _ in range(count):
        if pos + 62 > end:
            return None
        flags = flags_at(data, pos + 60)[0]
        start = pos + 64 if flags & 0x4000 else pos + 62
        if flags & 0x4000 and version < 3:
            return None
        size = flags & 0xFFF
        stop = find(b"\0", start, end) if size == 0xFFF else start + size
        if stop < 0 or stop >= end:
            return None
        path = data[start:stop]
        if path.startswith(prefix):
            out[path[cut:]] = pos
        pos += (stop - pos + 8) & ~7
    while pos + 8 <= end:  # extensions: a split index holds its entries in another file
        if data[pos : pos + 4] == b"link":
            return None
        pos += 8 + struct.unpack_from(">I", data, pos + 4)[0]
    return RawIndex(data, out, index_mtime_ns)


def load(root: Path) -> Index | None:
    """git's index of the work tree holding ``root`` (its entries below ``root``); None when git cannot tell."""
    found = _index_file(root)
    return None if found is None else _read(root, found)


_FILES: dict[str, tuple[str, bytes] | None] = {}  # workspace root -> its git index file and prefix (None: no git)
_CURRENT: dict[str, tuple[tuple[int, int, int, int] | None, Index | None]] = {}


def current(root: Path) -> Index | None:
    """Like :func:`load`, but read again only when the index file changed since the last read (one stat).

    For callers that ask many times in one process (the answer cache, once per step): an entry is
    still judged against each file's stat when looked up, so a file changed since is never taken as clean.
    """
    key = str(root)
    if key not in _FILES:
        _FILES[key] = _index_file(root)
    found = _FILES[key]
    if found is None:
        return None
    seen = _CURRENT.get(key)
    if seen is not None and seen[0] is not None and seen[0] == _stat(found[0]):
        return seen[1]
    index = _read(root, found)
    _CURRENT[key] = (_stat(found[0]) if index is not None else None, index)
    return index


def _index_file(root: Path) -> tuple[str, bytes] | None:
    """The index file of the repository holding ``root``, and ``root``'s place in it (``sub/dir/`` or empty)."""
    from devloop.runtime import gitsafe  # lazy: off the path of a no-op doit and devloop --help

    where = gitsafe.run(root, ["rev-parse", "--git-path", "index", "--show-prefix"], timeout=30)
    if where is None or where.returncode != 0:
        return None
    lines = where.stdout.split(b"\n")
    if len(lines) < 2:
        return None
    return os.path.join(root, lines[0].decode("utf-8", "surrogateescape")), lines[1]


def _read(root: Path, found: tuple[str, bytes]) -> Index | None:
    """The index read between two stats of its file (a rewrite meanwhile gives None): directly, else by git."""
    from devloop.runtime import gitsafe  # lazy: off the path of a no-op doit and devloop --help

    index_file, prefix = found
    before = _stat(index_file)
    try:
        with open(index_file, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if before is not None and before == _stat(index_file):
        raw = parse_raw(data, prefix, before[1])
        if raw is not None:
            return raw
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
