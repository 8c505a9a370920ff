"""Content hashes. Hashes are hex SHA-256, short enough to read in a diff."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MISSING = "missing"
_BLANK_PROBE = 64 * 1024  # documents longer than this are not blank


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_seen: dict[str, tuple[int, int, int, str, bool]] = {}


def hash_file(path: Path | str, blank_is_missing: bool = False) -> str:
    """Hash of the file's bytes, or ``MISSING`` when it does not exist.

    With ``blank_is_missing`` an empty or whitespace-only file counts as
    missing too: a document artifact nobody wrote (or one a person emptied)
    must never be adopted as a result.

    Within one process a file whose inode, size and nanosecond mtime are
    unchanged is not read again: the no-op ``doit`` hashes each input once.
    """
    key = str(path)
    try:
        st = os.stat(key)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    seen = _seen.get(key)
    if seen is None or seen[:3] != (st.st_mtime_ns, st.st_size, st.st_ino):
        try:
            with open(key, "rb") as fh:
                data = fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return MISSING
        blank = len(data) <= _BLANK_PROBE and not data.strip()
        seen = _seen[key] = (st.st_mtime_ns, st.st_size, st.st_ino, hash_bytes(data), blank)
    return MISSING if blank_is_missing and seen[4] else seen[3]


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
