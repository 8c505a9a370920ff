"""Files an author touched: workspace snapshots, round numbering, non-empty checks."""

from __future__ import annotations

import re
import stat
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


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """mtime and size of every workspace file an author may touch.

    Links are entries of their own (``lstat``): a link is never followed, so
    a folder linked from outside the workspace is never walked.
    """
    skip_dirs = {".git", ".devloop", ".venv", "venv", "node_modules", "__pycache__", ".history", "runs"}
    out: dict[str, tuple[int, int]] = {}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for p in entries:
            try:
                st = p.lstat()
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if p.name not in skip_dirs:
                    stack.append(p)
            elif (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) and not _devloop_own(p.name):
                out[p.relative_to(root).as_posix()] = (st.st_mtime_ns, st.st_size)
    return out


def _devloop_own(name: str) -> bool:
    return name.startswith(".doit.db") or name == "devloop.lock"
