"""Content hashes. Hashes are hex SHA-256, short enough to read in a diff."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MISSING = "missing"


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_seen: dict[str, tuple[int, int, int, str]] = {}


def hash_file(path: Path | str) -> str:
    """Hash of the file's bytes, or ``MISSING`` when it does not exist.

    Within one process a file whose inode, size and nanosecond mtime are
    unchanged is not read again: the no-op ``doit`` hashes each input once.
    """
    key = str(path)
    try:
        st = os.stat(key)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    seen = _seen.get(key)
    if seen is not None and seen[:3] == (st.st_mtime_ns, st.st_size, st.st_ino):
        return seen[3]
    try:
        with open(key, "rb") as fh:
            sha = hash_bytes(fh.read())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return MISSING
    _seen[key] = (st.st_mtime_ns, st.st_size, st.st_ino, sha)
    return sha


def hash_json(value: object) -> str:
    """Stable hash of a JSON-compatible value (key order does not matter)."""
    return hash_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())


def short(h: str | None) -> str:
    if not h:
        return "none"
    return h if h == MISSING else h[:12]
