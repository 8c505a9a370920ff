"""Where an author agent may write: its step's outputs and the feature's code, nothing else.

An agent's answer is hostile input. A text-only agent names the files it
writes (``file=`` blocks) and a command agent writes them itself; either way
devloop decides which writes it accepts. Never accepted: devloop's own
records (locks, ``runs/``, ``.devloop/``, archives), another feature's files,
the files of the feature that other steps own, and the loop's control files
(devloop.yaml, dodo.py, templates/), which decide who reviews and what a
rollback runs. Links are never written through: a path whose folder is a
symbolic link may lead out of the workspace.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devloop.workspace import Workspace

STATE_FOLDERS = (".git", ".devloop", "runs")
CONTROL_FILES = ("devloop.yaml", "dodo.py")
CI_PLACES = (".github/workflows/", ".gitlab-ci.yml", ".circleci/", ".buildkite/", "Jenkinsfile", ".ci/")


def control_files(ws: Workspace) -> frozenset[str]:
    """The files that steer the loop: config, dodo.py, template overrides, and scripts the config runs.

    A template override is a file of ``templates/`` named like a packaged
    template (a project's own templates folder stays its code). A script
    counts when a deploy, rollback or agent command names it (not a local
    gate's: gates run the code under review, which the implementer writes).
    """
    from devloop.workspace import packaged_templates_dir

    out = set(CONTROL_FILES)
    packaged = packaged_templates_dir()
    out.update(f"templates/{p.relative_to(packaged).as_posix()}" for p in packaged.rglob("*") if p.is_file())
    cfg = ws.config
    commands: list[list[str]] = []
    for deploy in [cfg.deploy, *(f.deploy for f in cfg.features.values() if f.deploy)]:
        commands += [c for c in (deploy.command, deploy.rollback) if c]
    commands += [a.argv for a in cfg.agents.values() if getattr(a, "argv", None)]
    out.update(_workspace_files(ws.root, (token for argv in commands for token in argv)))
    return frozenset(out)


def _workspace_files(root: Path, tokens: Iterable[str]) -> set[str]:
    found = set()
    for token in tokens:
        if not token or token.startswith("-") or "{" in token or Path(token).is_absolute():
            continue
        path = root / token
        if path.is_file() and inside(root, path):
            found.add(path.resolve().relative_to(root.resolve()).as_posix())
    return found


def refusal(feature: str, rel: str, expected: Collection[str], control: Collection[str] = CONTROL_FILES) -> str | None:
    """Why an author of ``feature`` whose step writes ``expected`` may not write ``rel``, or None."""
    if rel in expected:
        return None
    parts = rel.split("/")
    name = parts[-1]
    if parts[0] in STATE_FOLDERS:
        return f"{parts[0]}/ holds devloop's and git's own records"
    if ".history" in parts:
        return "archived versions are never rewritten"
    if name == "devloop.lock" or name.startswith(".doit.db"):
        return "lock files are written by devloop only"
    if parts[0] == "plans" and len(parts) > 1:
        if parts[1] != feature:
            return f"it belongs to the feature {parts[1]!r}"
        own = ", ".join(sorted(expected)) or "none"
        return f"under plans/{feature}/ this step writes only its own outputs ({own})"
    if parts[:2] == ["scripts", "smoke"] and rel != f"scripts/smoke/{feature}.sh":
        return "it is another feature's smoke script"
    if rel in control:
        return "it is one of the loop's control files (a person edits those)"
    if rel.startswith(CI_PLACES) or rel in CI_PLACES:
        return "it is CI configuration, which runs with the repository's secrets (a person edits that)"
    return None


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


def refused_writes(
    root: Path, feature: str, paths: Collection[str], expected: Collection[str], control: Collection[str]
) -> dict[str, str]:
    """Every path of ``paths`` an author may not write, with the reason."""
    out = {}
    for rel in sorted(paths):
        why = refusal(feature, rel, expected, control)
        if why is None and (link := through_link(root, rel)) is not None:
            why = f"{link} is a symbolic link; authors never write through links"
        if why is not None:
            out[rel] = why
    return out


def described(refused: dict[str, str]) -> str:
    return "; ".join(f"{rel} ({why})" for rel, why in refused.items())


def guarded(root: Path, feature: str, control: Collection[str]) -> dict[str, bytes]:
    """The bytes of the files a command agent could change out of its reach, to put them back.

    The loop's control files and the feature's own records (small files);
    other features' files may change under a parallel run, so they are not
    held here.
    """
    rels = [*control]
    folder = root / "plans" / feature
    if folder.is_dir():
        rels += [
            p.relative_to(root).as_posix()
            for p in folder.rglob("*")
            if ".history" not in p.parts and p.name != "devloop.lock" and p.is_file() and not p.is_symlink()
        ]
    out = {}
    for rel in rels:
        try:
            out[rel] = (root / rel).read_bytes()
        except OSError:
            continue
    return out


def put_back(root: Path, refused: Collection[str], held: dict[str, bytes], history: Path) -> list[str]:
    """Undo an agent's refused writes: each changed file archived, then restored (or removed if it was new)."""
    from devloop.atomic import archive, atomic_write_bytes

    done = []
    for rel in refused:
        path = root / rel
        if not os.path.lexists(path) and rel in held:  # deleted: bring it back
            atomic_write_bytes(path, held[rel])
            done.append(rel)
            continue
        if path.is_symlink() or not path.is_file():
            continue
        archive(root, path, history, "refused")
        if rel in held:
            atomic_write_bytes(path, held[rel])
        else:
            path.unlink()
        done.append(rel)
    return done


def inside(root: Path, path: Path) -> bool:
    """True when ``path``, with every link followed, is still inside ``root``."""
    try:  # os.path on strings: the same answer as Path.resolve, at a fraction of its cost (judged per file)
        real, base = os.path.realpath(path), os.path.realpath(root)
    except (OSError, ValueError):
        return False
    return real == base or real.startswith(base.rstrip("/") + "/")
