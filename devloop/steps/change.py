"""A feature's change: the one set of files every judge sees, and its diff against where implementation began.

The change is what the implementer (an agent or a person) and each fix round
added, changed or deleted, as found by comparing the workspace before and
after each call (recorded in the lock), plus the files the feature's
``paths:`` select. ``paths:`` only ever adds: a file the implementer touched
is part of the change whatever the patterns say. Never part of it: the
loop's own folders (``plans/``, ``.devloop/``, ``runs/``), ``.git/``, files
git ignores, and anything reached through a link that leaves the workspace.

``paths:`` are gitignore-style patterns matched by pathspec: ``src/**`` is
every file below ``src/``, ``*.sql`` every SQL file at any depth.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devloop.provenance.state import FeatureLock
from devloop.steps.reach import inside
from devloop.workspace import Workspace

LOOP_DIRS = ("plans/", ".devloop/", "runs/", ".git/")
_WALK_SKIP = {".git", ".devloop", "runs", "plans", ".venv", "venv", "node_modules", "__pycache__", ".history"}
MAX_DIFF_CHARS = 2_000_000  # read no more of git's output than any budget could show


def is_loop_file(rel: str) -> bool:
    return rel.startswith(LOOP_DIRS) or rel in (".git", "runs", "plans", ".devloop")


@dataclass
class Change:
    """The feature's files (existing, each once, sorted) and the files it deleted."""

    files: list[str]
    deleted: list[str] = field(default_factory=list)


def change_of(ws: Workspace, feature: str, lock: FeatureLock) -> Change:
    """What the feature changed, plus its ``paths:`` (see the module docstring)."""
    recorded = lock.data("implement").get("deleted") or []
    key = ("change", feature, tuple(lock.outputs("implement")), tuple(recorded))
    hit = ws.memo.get(key)
    if hit is not None:
        return hit
    touched, deleted = _recorded(lock)
    patterns = _patterns(ws, feature)
    listed = listing(ws, None if patterns else sorted(touched))
    if patterns:
        touched |= set(matching(patterns, listed if listed is not None else walk(ws.root)))
    root = f"{ws.root}/"
    files = sorted(
        p
        for p in touched
        if (listed is None or p in listed) and os.path.isfile(root + p) and inside(ws.root, Path(root + p))
    )
    gone = sorted(p for p in deleted if not os.path.lexists(ws.root / p))
    ws.memo[key] = change = Change(files, gone)
    return change


def resting_on(ws: Workspace, feature: str, lock: FeatureLock) -> list[str] | None:
    """Besides file contents, what ``change_of`` depends on, as paths whose stat changes with it.

    The files the implementer touched or deleted (present or not), git's
    index, its exclude file and every ``.gitignore`` from the root down to
    them. None when stats cannot tell: ``paths:`` patterns match files anywhere,
    and a ``.git`` file (a worktree) keeps git's state elsewhere. Ignore rules
    outside the repository (``core.excludesFile``) are not watched.
    """
    if _patterns(ws, feature):
        return None
    git = ws.root / ".git"
    if git.is_dir():
        deps = [".git/index", ".git/info/exclude", ".git/config", ".gitignore"]
    elif git.exists():
        return None
    else:
        deps = [".git"]  # missing: it rests on the folder that would hold it
    touched, deleted = _recorded(lock)
    files = sorted(touched | deleted)
    deps += files
    for p in files:
        parts = p.split("/")[:-1]
        deps += ["/".join(parts[: i + 1]) + "/.gitignore" for i in range(len(parts))]
    return deps


def _recorded(lock: FeatureLock) -> tuple[set[str], set[str]]:
    """The files the implementer wrote and deleted, as its lock record says, the loop's own left out."""
    deleted = lock.data("implement").get("deleted") or []
    return (
        {p for p in lock.outputs("implement") if not is_loop_file(p)},
        {p for p in deleted if not is_loop_file(p)},
    )


def _patterns(ws: Workspace, feature: str) -> list[str]:
    """The feature's ``paths:`` patterns in devloop.yaml."""
    return list((ws.config_view.get("features", {}).get(feature) or {}).get("paths") or [])


def forget(ws: Workspace) -> None:
    """Files were written: the next question about the change looks at the workspace again."""
    for key in [k for k in ws.memo if isinstance(k, tuple) and k and k[0] in ("change", "git-listing")]:
        del ws.memo[key]


def matching(patterns: list[str], candidates: Any) -> list[str]:
    """The candidates the gitignore-style patterns select."""
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    return [p for p in candidates if spec.match_file(p) and not is_loop_file(p)]


def listing(ws: Workspace, paths: list[str] | None = None) -> set[str] | None:
    """Every file git tracks or would track (not ignored), once per process; None outside a git repository.

    With ``paths``, only those of them: git then looks at no other folder,
    so the answer costs the same in a repository of ten features or a thousand.
    """
    key = ("git-listing", tuple(paths) if paths is not None else None)
    if key in ws.memo:
        return ws.memo[key]
    if paths is not None and not paths:
        return set()  # nothing to ask about
    if paths is not None:
        asked = ws.memo["git-asks"] = ws.memo.get("git-asks", 0) + 1
        if ("git-listing", None) in ws.memo or asked > 3:  # judging many features: one listing for all
            whole = listing(ws)
            return None if whole is None else whole.intersection(paths)
    try:
        done = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *(paths or ())],
            cwd=ws.root,
            capture_output=True,
            timeout=60,
            env={**os.environ, "GIT_LITERAL_PATHSPECS": "1"},  # a path is a path, never a pattern
        )
        out = (
            {p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p}
            if done.returncode == 0
            else None
        )
    except (OSError, subprocess.TimeoutExpired):
        out = None
    ws.memo[key] = out
    return out


def walk(root: Path) -> list[str]:
    """Every file below ``root`` outside the loop's and tools' folders, links not followed (no git here)."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _WALK_SKIP]
        rel = Path(folder).relative_to(root)
        out += [(rel / f).as_posix() for f in files]
    return out


def diff(ws: Workspace, base: str | None, change: Change) -> str:
    """The change against ``base``: new (untracked too), changed and deleted files; binaries named only.

    New files are shown by marking them intent-to-add in a copy of git's
    index, so the user's own index is never touched.
    """
    paths = [*change.files, *change.deleted]
    if not base or not paths:
        return ""
    try:
        index = subprocess.run(
            ["git", "rev-parse", "--git-path", "index"], cwd=ws.root, capture_output=True, text=True, timeout=30
        )
        if index.returncode != 0:
            return ""
        real = ws.root / index.stdout.strip()
        with tempfile.TemporaryDirectory(prefix="devloop-index-") as tmp:
            copy = Path(tmp) / "index"
            if real.is_file():
                shutil.copyfile(real, copy)
            env = {**os.environ, "GIT_INDEX_FILE": str(copy)}
            subprocess.run(
                ["git", "add", "--intent-to-add", "--", *change.files],
                cwd=ws.root,
                env=env,
                capture_output=True,
                timeout=60,
            )
            done = subprocess.run(
                ["git", "diff", "--no-color", "--no-ext-diff", "--no-textconv", base, "--", *paths],
                cwd=ws.root,
                env=env,
                capture_output=True,
                timeout=60,
            )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if done.returncode != 0:
        return ""
    return done.stdout[:MAX_DIFF_CHARS].decode("utf-8", "replace")


def per_file(diff_text: str) -> dict[str, str]:
    """The diff split into each file's part, keyed by its path (the new path, or the old one when deleted)."""
    parts: dict[str, str] = {}
    current: list[str] = []
    for line in diff_text.splitlines(keepends=True):
        if line.startswith("diff --git ") and current:
            _keep(parts, current)
            current = []
        current.append(line)
    if current:
        _keep(parts, current)
    return parts


def _keep(parts: dict[str, str], lines: list[str]) -> None:
    path = None
    for line in lines[1:8]:
        if line.startswith("+++ b/"):
            path = line[6:].rstrip("\n")
            break
        if line.startswith("--- a/"):
            path = line[6:].rstrip("\n")
    if path is None:  # binary or mode-only: "diff --git a/x b/x"
        head = lines[0].rstrip("\n")
        path = head.split(" b/", 1)[1] if " b/" in head else head
    parts[path] = "".join(lines)


@dataclass
class Shown:
    """What of the change fits a prompt's budget: files whole, files as diff only, and files left out."""

    files: list[tuple[str, str]]  # (path, text) shown whole
    diff: str  # the diff parts shown
    in_diff: list[str]  # the files whose diff part is shown
    diff_only: list[str]
    left_out: list[str]
    budget: int

    @property
    def whole(self) -> list[str]:
        return [p for p, _ in self.files]

    def summary(self) -> str:
        """One paragraph for the prompt and the record; empty when everything fitted."""
        if not self.diff_only and not self.left_out:
            return ""
        parts = [f"The change is larger than the budget of {self.budget:,} characters (max_code_chars)."]
        if self.whole:
            parts.append(f"Shown whole: {', '.join(self.whole)}.")
        if self.diff_only:
            parts.append(f"Shown as diff only: {', '.join(self.diff_only)}.")
        if self.left_out:
            parts.append(f"Left out (neither diff nor text): {', '.join(self.left_out)}.")
        return " ".join(parts)


def fit(paths: list[str], texts: dict[str, str], diff_text: str, budget: int, whole: bool = True) -> Shown:
    """Fill ``budget`` with every file's diff first, then whole files, in order; say what did not fit.

    The diff comes first because it is what changed; whole files follow while
    room is left. A file with neither is listed as left out, never dropped
    silently. ``whole=False`` shows the diff alone (triage, evaluation).
    """
    parts = per_file(diff_text)
    order = list(dict.fromkeys([*paths, *parts]))
    left = budget
    diff_shown: list[str] = []
    in_diff: set[str] = set()
    for p in order:
        chunk = parts.get(p)
        if chunk is not None and len(chunk) <= left:
            diff_shown.append(chunk)
            in_diff.add(p)
            left -= len(chunk)
    files: list[tuple[str, str]] = []
    if whole:
        for p in paths:
            text = texts.get(p)
            if text is not None and len(text) <= left:
                files.append((p, text))
                left -= len(text)
    shown_whole = {p for p, _ in files}
    expected_whole = set(paths) if whole else set()
    diff_only = [p for p in order if p in in_diff and p not in shown_whole and p in expected_whole]
    left_out = [p for p in order if p not in in_diff and p not in shown_whole and (whole or p in parts)]
    return Shown(files, "".join(diff_shown), sorted(in_diff), diff_only, left_out, budget)
