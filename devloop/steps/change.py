"""A feature's change: the one set of files every judge sees, and its diff against where implementation began.

The change is what the implementer (an agent or a person) and each fix round
added, changed or deleted, as found by comparing the workspace before and
after each call (recorded in the lock), plus the files the feature's
``paths:`` select. ``paths:`` only ever adds: a file the implementer touched
is part of the change whatever the patterns, ``.gitignore`` or a nested
repository say (an agent could hide a file from git, never from its
judges). Never part of it: the loop's own folders (``plans/``,
``.devloop/``, ``runs/``), ``.git/``, and anything reached through a link
that leaves the workspace.

The diff is computed here, from the base commit's blobs (read raw by
``git cat-file``) and the files on disk: git's diff machinery would run the
repository's textconv, filter and external-diff programs.

``paths:`` are gitignore-style patterns matched by pathspec: ``src/**`` is
every file below ``src/``, ``*.sql`` every SQL file at any depth.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devloop.config.workspace import Workspace
from devloop.confine.reach import inside
from devloop.provenance.cache import listing as kept_listing
from devloop.provenance.cache import shared_view
from devloop.provenance.state import FeatureLock
from devloop.runtime import gitsafe

LOOP_DIRS = ("plans/", ".devloop/", "runs/", ".git/")
_WALK_SKIP = {".git", ".devloop", "runs", "plans", ".venv", "venv", "node_modules", "__pycache__", ".history"}
MAX_DIFF_CHARS = 2_000_000  # make no more diff than any budget could show
MAX_DIFF_FILE = 1_000_000  # a file larger than this is named in the diff, not compared line by line
# Files that change what git or a shell does in this repository: shown to judges as items of their own.
STEERING = {
    ".gitignore": "what git ignores",
    ".gitattributes": "how git reads files (filters, diff drivers)",
    ".gitmodules": "which repositories git fetches",
    ".envrc": "what direnv runs when a shell enters the folder",
}
HOOK_FOLDERS = (".githooks", ".husky", ".git-hooks")


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
    if patterns:
        listed = listing(ws)
        touched |= set(matching(patterns, listed if listed is not None else walk(ws.root)))
    root = f"{ws.root}/"
    files = sorted(p for p in touched if os.path.isfile(root + p) and inside(ws.root, Path(root + p)))
    gone = sorted(p for p in deleted if not os.path.lexists(ws.root / p))
    ws.memo[key] = change = Change(files, gone)
    return change


def code_files(ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
    """The feature's code as every judge sees it: its change plus its ``paths:`` (see the module docstring)."""
    return change_of(ws, feature, lock).files


def resting_on(ws: Workspace, feature: str, lock: FeatureLock) -> list[str] | None:
    """Besides file contents, what ``change_of`` depends on, as paths whose stat changes with it.

    The files the implementer touched or deleted (present or not), and git's
    per-user files that say what it ignores (:func:`git_user_files`): the
    change's notes name ignored files, and no answer should outlive a change
    of what git ignores. None when stats cannot tell: ``paths:`` patterns
    match files anywhere.
    """
    if _patterns(ws, feature):
        return None
    touched, deleted = _recorded(lock)
    return [*sorted(touched | deleted), *git_user_files(ws)]


def git_user_files(ws: Workspace) -> list[str]:
    """git's files outside the repository that decide what it ignores, as absolute paths (present or not).

    The global config (``~/.gitconfig``) and the XDG config and ignore files
    (``$XDG_CONFIG_HOME/git/``, else ``~/.config/git/``), and the file the
    global config names as ``core.excludesFile``. Found once per process.
    """
    hit = ws.memo.get("git-user-files")
    if hit is not None:
        return hit
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files = [os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config"), os.path.join(xdg, "git", "ignore")]
    done = gitsafe.run(ws.root, ["config", "--global", "--get", "core.excludesFile"], timeout=30)
    if done is not None and done.returncode == 0:
        named = done.stdout.decode("utf-8", "surrogateescape").strip()
        if named:
            named = os.path.expanduser(named)
            files.append(named if os.path.isabs(named) else os.path.join(str(ws.root), named))
    ws.memo["git-user-files"] = files = sorted(set(files))
    return files


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
    for key in [
        k for k in ws.memo if isinstance(k, tuple) and k and k[0] in ("change", "git-listing", "git-listing-author")
    ]:
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
    listed = ["ls-files", "-z", "--cached", "--others", "--exclude-standard", *kept_listing.NO_ARCHIVES]
    done = gitsafe.run(ws.root, [*listed, "--", *(paths or ())])
    out = None
    if done is not None and done.returncode == 0:
        out = {p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p and not archived(p)}
    ws.memo[key] = out
    return out


def listing_for_author(ws: Workspace, feature: str) -> set[str] | None:
    """What :func:`listing` gives outside the loop's folders, plus ``plans/<feature>/``; None outside git.

    git is asked about the workspace's top-level entries one by one (the
    loop's folders left out), so it never walks ``plans/``: at a thousand
    features that is 6,000 folders an author's key leaves out anyway.
    Where the process can watch the workspace (Linux, a local file system),
    the answer is kept and brought up to date from what changed since
    (:mod:`devloop.provenance.cache.listing`): the same set, without asking
    git again about what did not change. Between processes, the part outside
    the loop's folders is saved with stats that prove it
    (:mod:`devloop.provenance.cache.shared_view`): git then lists only the
    feature's folder.
    """
    kept = kept_listing.author_listing(ws.root, feature, _LOOP_TOPS, "plans")
    if kept is not None:
        return {p for p in kept if not archived(p)}
    key = ("git-listing-author", feature)
    if key in ws.memo:
        return ws.memo[key]
    tops = sorted(e.name for e in os.scandir(ws.root) if e.name not in _LOOP_TOPS)
    own = f"plans/{feature}"
    if len(tops) > 500:  # a command line that long: one listing of everything instead
        whole = listing(ws)
        if whole is None:
            return None
        return {p for p in whole if not is_loop_file(p) or p.startswith(own + "/")}
    shared = shared_view.load(ws.root, _LOOP_TOPS, "plans")
    proof = shared_view.Proof.start(ws.root, _LOOP_TOPS, "plans") if shared is None else None
    out = _author_ls(ws, [own] if shared is not None else [*tops, own])
    if out is not None and shared is not None:
        out |= shared
    elif out is not None and proof is not None:
        proof.save({p for p in out if p != own and not p.startswith(own + "/")})
    ws.memo[key] = out
    return out


def _author_ls(ws: Workspace, paths: list[str]) -> set[str] | None:
    done = gitsafe.run(ws.root, [*kept_listing.LS_FILES, *paths])
    if done is None or done.returncode != 0:
        return None
    return {p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p and not archived(p)}


def archived(rel: str) -> bool:
    """A file of a feature's archive (``plans/<feature>/.history/``): an earlier version, never an input."""
    parts = rel.split("/", 3)
    return len(parts) == 4 and parts[0] == "plans" and parts[2] == ".history"


_LOOP_TOPS = {d.rstrip("/") for d in LOOP_DIRS}


def walk(root: Path) -> list[str]:
    """Every file below ``root`` outside the loop's and tools' folders, links not followed (no git here)."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _WALK_SKIP]
        rel = Path(folder).relative_to(root)
        out += [(rel / f).as_posix() for f in files]
    return out


def nested_repository(rel: str) -> str | None:
    """The folder of the nested repository whose ``.git/`` holds ``rel``, or None."""
    parts = rel.split("/")
    if ".git" in parts[1:-1]:
        return "/".join(parts[: parts.index(".git", 1)])
    return None


def shown(change: Change) -> list[str]:
    """The change's files whose content judges are shown: a nested repository's records are named in a note."""
    return [p for p in [*change.files, *change.deleted] if nested_repository(p) is None]


def diff(ws: Workspace, base: str | None, change: Change) -> str:
    """The change against ``base``: new (untracked and ignored too), changed and deleted files; binaries named only."""
    paths = shown(change)
    if not base or not paths or not gitsafe.is_commit(ws.root, base):
        return ""
    old = gitsafe.blobs(ws.root, base, paths)
    parts, size = [], 0
    for p in paths:
        part = unified(p, old.get(p), _current(ws.root / p))
        parts.append(part)
        size += len(part)
        if size > MAX_DIFF_CHARS:
            break
    return "".join(parts)


def _current(path: Path) -> bytes | None:
    """A file's bytes as they are now (None when it is gone, or is not a regular file)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with path.open("rb") as fh:
            return fh.read(MAX_DIFF_FILE + 1)
    except OSError:
        return None


def unified(rel: str, old: bytes | None, new: bytes | None) -> str:
    """One file's part of the diff, in git's format (``diff --git``, ``---``/``+++``, hunks); "" when equal."""
    if old == new:
        return ""
    head = f"diff --git a/{rel} b/{rel}\n"
    if old is None:
        head += "new file mode 100644\n"
    elif new is None:
        head += "deleted file mode 100644\n"
    a, b = ("/dev/null" if old is None else f"a/{rel}"), ("/dev/null" if new is None else f"b/{rel}")
    if any(x is not None and (len(x) > MAX_DIFF_FILE or b"\0" in x[:8000]) for x in (old, new)):
        return head + f"Binary files {a} and {b} differ\n"
    lines = difflib.unified_diff(_lines(old), _lines(new), a, b, n=3)
    body = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return head + body


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)


def notes(ws: Workspace, change: Change) -> list[str]:
    """What judges must be told besides the code: files that steer git or a shell, files git does not see."""
    out = []
    nested: dict[str, int] = {}
    for p in [*change.files, *change.deleted]:
        name, parts = p.rsplit("/", 1)[-1], p.split("/")
        if (repo := nested_repository(p)) is not None:
            nested[repo] = nested.get(repo, 0) + 1
            continue
        what = STEERING.get(name) or ("which hooks git runs" if any(h in parts for h in HOOK_FOLDERS) else None)
        if what:
            verb = "deleted" if p in change.deleted else "changed"
            out.append(f"The implementer {verb} {p}: it sets {what} in this repository.")
    for repo, n in sorted(nested.items()):
        out.append(
            f"The implementer made or changed a nested git repository at {repo}/: {n} file(s) of {repo}/.git/ "
            "(its configuration and hooks, which git runs inside it) are part of this change but not shown."
        )
    listed = listing(ws, change.files)
    unseen = [p for p in change.files if listed is not None and p not in listed and nested_repository(p) is None]
    if unseen:
        out.append(
            "git does not see these files (it ignores them, or they lie in a nested repository), so a commit "
            f"would leave them out; they are part of this change all the same: {', '.join(unseen)}."
        )
    return out


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
