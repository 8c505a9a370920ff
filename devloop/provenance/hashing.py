"""Content hashes. Hashes are hex SHA-256, short enough to read in a diff."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MISSING = "missing"


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Path) -> str:
    """Hash of the file's bytes, or ``MISSING`` when it does not exist."""
    try:
        return hash_bytes(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return MISSING


def hash_json(value: object) -> str:
    """Stable hash of a JSON-compatible value (key order does not matter)."""
    return hash_bytes(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode())


def short(h: str | None) -> str:
    if not h:
        return "none"
    return h if h == MISSING else h[:12]
