"""The code as a judge sees it: the feature's diff in budget, numbered files, whether a ``file:line`` exists.

Shared by the code review, the deploy review, the evaluation and the smoke triage.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from devloop.config.workspace import Workspace
from devloop.confine.reach import inside
from devloop.provenance.state import FeatureLock
from devloop.steps.change import change_of, fit
from devloop.steps.change import diff as change_diff
from devloop.steps.prompts import read_text


def check_location(ws: Workspace, file: str, line: int) -> str | None:
    """Why a finding's ``file:line`` cannot be right, or None when it can."""
    path = PurePosixPath(file)
    if path.is_absolute() or ".." in path.parts:
        return "path outside the workspace"
    target = ws.root / path
    if not target.is_file() or not inside(ws.root, target):
        return "file does not exist"
    n = len(target.read_bytes().splitlines())
    if not 1 <= line <= max(n, 1):
        return f"line {line} is outside 1..{n}"
    return None


def numbered(ws: Workspace, rel: str, around: int | None = None, radius: int = 5) -> str:
    lines = read_text(ws, rel).splitlines()
    lo, hi = (1, len(lines)) if around is None else (max(1, around - radius), min(len(lines), around + radius))
    return "\n".join(f"{i:5d}  {lines[i - 1]}" for i in range(lo, hi + 1))


def git_diff(ws: Workspace, base: str | None, feature: str, lock: FeatureLock) -> str:
    """The feature's change against the commit implementation started from, within ``max_code_chars``."""
    shown = fit([], {}, change_diff(ws, base, change_of(ws, feature, lock)), ws.config.max_code_chars, whole=False)
    note = shown.summary()
    return shown.diff + (f"\n[devloop] {note}\n" if note else "")
