"""Where one confined program may write in the workspace: a short policy, never a list checked afterwards.

A reach is writable roots plus the read-only places inside them. A judge
(reviewer, red team, verifier, triage, evaluator) and a smoke check write
nothing: their whole workspace is read-only. The planner writes only in its
feature's folder. The implementer (and the gates that run its code) writes
anywhere in the workspace except:

- devloop's and git's records: ``.git/``, ``runs/``, ``.devloop/``, locks,
  archives (``.history/``) and doit's database;
- every other feature's folder under ``plans/`` and its smoke script;
- the files of its own feature that other steps write (plan, reviews,
  evaluation...): under ``plans/<f>/`` an author writes only its outputs;
- the loop's control files: devloop.yaml, dodo.py, template overrides, the
  scripts that deploy, rollback and agent commands name, CI configuration;
- devloop's own installation when it lies inside the workspace.

The same policy answers both questions asked of it: which paths the
operating system binds read-only (:meth:`Reach.protected`, a list that does
not grow with the number of features) and why a given path is refused
(:meth:`Reach.why_not`, for written file blocks and the snapshot layer).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import devloop
from devloop.config.workspace import packaged_templates_dir

if TYPE_CHECKING:
    from devloop.config.workspace import Workspace

RECORDS = {
    ".git": "git's own records (config, hooks, refs: programs git runs)",
    "runs": "devloop's records (the ledger and the runs)",
    ".devloop": "devloop's own state",
}
CONTROL_FILES = ("devloop.yaml", "dodo.py")
CI_PLACES = (".github/workflows", ".gitlab-ci.yml", ".circleci", ".buildkite", "Jenkinsfile", ".ci")

JUDGE, PLANNER, IMPLEMENTER = "judge", "planner", "implementer"


@dataclass(frozen=True)
class Reach:
    """What one program may write: ``kind`` says whose reach it is; the rest is computed from the workspace."""

    root: Path
    kind: str  # JUDGE (nothing), PLANNER (its feature folder), IMPLEMENTER (the workspace, minus the rest)
    feature: str | None = None
    expected: frozenset[str] = frozenset()  # the outputs the call must write: always allowed
    control: frozenset[str] = frozenset(CONTROL_FILES)
    installed: tuple[str, ...] = ()  # devloop's own installation, where it lies inside the workspace
    owner: str = "the agent"  # who it is, for messages

    # -- the question asked per path ------------------------------------------
    def why_not(self, rel: str) -> str | None:
        """Why ``rel`` (relative, ``/``-separated) is out of this reach, or None when it may be written."""
        parts = rel.split("/")
        name = parts[-1]
        if self.kind == JUDGE:
            return "it answers with text and writes nothing in the workspace (devloop writes what it answers)"
        if rel in self.expected:
            return None
        if parts[0] in RECORDS:
            return f"{parts[0]}/ holds {RECORDS[parts[0]]}"
        if ".history" in parts:
            return "archived versions are never rewritten"
        if name == "devloop.lock" or (len(parts) == 1 and name.startswith(".doit.db")):
            return "lock files are written by devloop only"
        if any(rel == p or rel.startswith(p + "/") for p in self.installed):
            return "it is devloop's own installation (the program that judges the agents)"
        folder = f"plans/{self.feature}"
        if parts[0] == "plans" and len(parts) > 1:
            if len(parts) == 2:
                return "plans/ holds only the features' folders"
            if parts[1] != self.feature:
                return f"it belongs to the feature {parts[1]!r}"
            own = ", ".join(sorted(self.expected)) or "none"
            return f"under {folder}/ this step writes only its own outputs ({own})"
        if self.kind == PLANNER:
            return f"the planner writes only under {folder}/"
        if parts[:2] == ["scripts", "smoke"] and rel != self.smoke_script:
            return "it is another feature's smoke script"
        if rel in self.control:
            return "it is one of the loop's control files (a person edits those)"
        if any(rel == p or rel.startswith(p + "/") for p in CI_PLACES):
            return "it is CI configuration, which runs with the repository's secrets (a person edits that)"
        return None

    @property
    def smoke_script(self) -> str:
        return f"scripts/smoke/{self.feature}.sh"

    # -- the operating system's view: folders writable, places read-only -------
    @property
    def writable(self) -> list[str]:
        """The workspace folders bound writable, in order ("" is the workspace itself)."""
        if self.kind == JUDGE:
            return []
        if self.kind == PLANNER:
            return [f"plans/{self.feature}"]
        return ["", f"plans/{self.feature}"]

    def protected(self) -> list[str]:
        """The existing paths bound read-only over the writable workspace (the implementer's), in mount order.

        Folders are bound whole (``plans/``, ``.git/``), so the list does not
        grow with the number of features; the feature's own folder is bound
        writable again over ``plans/`` (see :meth:`own_protected`). A
        protected path that does not exist yet cannot be bound: the snapshot
        layer sees it appear.
        """
        if self.kind != IMPLEMENTER:
            return []
        root = self.root
        out = [p for p in (*RECORDS, "plans", "scripts/smoke") if os.path.lexists(root / p)]
        out += sorted(p for p in _names(root) if p.startswith(".doit.db"))
        out += [p for p in (*sorted(self.control), *CI_PLACES, *self.installed) if os.path.lexists(root / p)]
        return [p for p in dict.fromkeys(out) if p not in self.expected]

    def own_protected(self) -> list[str]:
        """Everything already in the feature's own folder but this call's outputs (bound read-only inside it)."""
        if self.kind == JUDGE or self.feature is None:
            return []
        folder = f"plans/{self.feature}"
        return [f"{folder}/{n}" for n in sorted(_names(self.root / folder)) if f"{folder}/{n}" not in self.expected]

    def anchors(self) -> list[str]:
        """Writable folders that hold a protected path: each is bound onto itself so it cannot be renamed away.

        Renaming a folder moves everything below it, read-only binds
        included, and the old path could then be made anew; a mount point
        cannot be renamed (EBUSY).
        """
        if self.kind != IMPLEMENTER:
            return []
        out = set()
        for p in self.protected():
            parts = p.split("/")[:-1]
            out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return sorted(out - {"plans"}, key=lambda p: (p.count("/"), p))


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def for_judge(root: Path) -> Reach:
    return Reach(Path(root), JUDGE)


def for_author(ws: Workspace, feature: str, role: str, expected: Iterable[str], owner: str = "") -> Reach:
    """The reach of an author role: ``planner`` writes its feature folder, ``implementer`` the workspace."""
    kind = PLANNER if role == "planner" else IMPLEMENTER
    return Reach(
        ws.root,
        kind,
        feature,
        frozenset(expected),
        control_files(ws),
        installed(ws.root),
        owner or f"the {role}",
    )


def control_files(ws: Workspace) -> frozenset[str]:
    """The files that steer the loop: config, dodo.py, template overrides, and scripts the config runs.

    A template override is a file of ``templates/`` named like a packaged
    template (a project's own templates folder stays its code). A script
    counts when a deploy, rollback or agent command names it (not a local
    gate's: gates run the code under review, which the implementer writes).
    Computed once per workspace object.
    """
    cached = ws.memo.get("control-files")
    if cached is not None:
        return cached

    out = set(CONTROL_FILES)
    packaged = packaged_templates_dir()
    out.update(f"templates/{p.relative_to(packaged).as_posix()}" for p in packaged.rglob("*") if p.is_file())
    cfg = ws.config
    commands: list[list[str]] = []
    for deploy in [cfg.deploy, *(f.deploy for f in cfg.features.values() if f.deploy)]:
        commands += [c for c in (deploy.command, deploy.rollback) if c]
    commands += [a.argv for a in cfg.agents.values() if getattr(a, "argv", None)]
    out.update(_workspace_files(ws.root, (token for argv in commands for token in argv)))
    ws.memo["control-files"] = frozen = frozenset(out)
    return frozen


def _workspace_files(root: Path, tokens: Iterable[str]) -> set[str]:
    found = set()
    for token in tokens:
        if not token or token.startswith("-") or "{" in token or Path(token).is_absolute():
            continue
        path = root / token
        if path.is_file() and inside(root, path):
            found.add(path.resolve().relative_to(root.resolve()).as_posix())
    return found


def installed(root: Path) -> tuple[str, ...]:
    """devloop's package and the Python environment running it, where they lie inside the workspace.

    An agent that could rewrite either would run its code in devloop's next
    process, with devloop's whole environment.
    """

    out = []
    real_root = os.path.realpath(root)
    for place in (os.path.dirname(devloop.__file__), sys.prefix, sys.exec_prefix):
        real = os.path.realpath(place)
        if real.startswith(real_root.rstrip("/") + "/"):
            out.append(real[len(real_root) + 1 :])
    return tuple(dict.fromkeys(out))


def through_link(root: Path, rel: str) -> str | None:
    """The first part of ``rel`` (inside ``root``) that is a symbolic link, or None."""
    path = root
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            return path.relative_to(root).as_posix()
        if not path.exists():
            return None
    return None


def refused(reach: Reach, paths: Iterable[str]) -> dict[str, str]:
    """Every path of ``paths`` out of ``reach`` (or reached through a link), with the reason."""
    out = {}
    for rel in sorted(paths):
        why = reach.why_not(rel)
        if why is None and (link := through_link(reach.root, rel)) is not None:
            why = f"{link} is a symbolic link; authors never write through links"
        if why is not None:
            out[rel] = why
    return out


def described(refusals: dict[str, str]) -> str:
    return "; ".join(f"{rel} ({why})" for rel, why in refusals.items())


def inside(root: Path, path: Path) -> bool:
    """True when ``path``, with every link followed, is still inside ``root``."""
    try:  # os.path on strings: the same answer as Path.resolve, at a fraction of its cost (judged per file)
        real, base = os.path.realpath(path), os.path.realpath(root)
    except (OSError, ValueError):
        return False
    return real == base or real.startswith(base.rstrip("/") + "/")
