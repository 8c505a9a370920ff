"""Small questions about a step's files: is it written, which round comes next."""

from __future__ import annotations

import re
from pathlib import Path


def has_text(path: Path) -> bool:
    try:
        return path.is_file() and path.read_bytes().strip() != b""
    except OSError:
        return False


def next_round(folder: Path, pattern: re.Pattern[str]) -> int:
    """One past the highest round number among ``folder``'s file names: rounds are never overwritten."""
    if not folder.is_dir():
        return 1
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))]
    return max(numbers, default=0) + 1
