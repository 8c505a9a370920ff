"""A person plays an author role: what they changed between two runs is their answer.

The workspace is walked when the prompt is written (the walk is saved under
``.devloop/waits/``) and again on the next run; the files that differ, in
the role's reach, are the answer. A person may edit anything (devloop.yaml,
another feature's plan); only what lies in the reach counts as this call's
work.

Two features can wait on a person's implementation at once. A file changed
since both prompts belongs to one of them only: the one that claimed it
(``devloop claim <feature> <path>``), else the one whose change already
holds it (a fix round of its code), else the one whose ``paths:`` select
it; when none tells, the run stops and asks, and no feature takes it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devloop.agents.base import AgentRequest, CallStatus
from devloop.confine import reach as R
from devloop.confine.snapshot import walk
from devloop.provenance.hashing import hash_file
from devloop.runtime.atomic import atomic_write_text, remove
from devloop.steps.base import Waiting
from devloop.steps.change import is_loop_file, listing, matching

if TYPE_CHECKING:
    from devloop.config.workspace import Workspace
    from devloop.steps.run import StepRun

CLAIMS = "claims.json"
NOT_WALKED = frozenset({*R.RECORDS})  # a person's commits, devloop's state: never an answer
TOOL_FOLDERS = frozenset({".venv", "venv", "node_modules", "__pycache__", ".history", ".tox", ".mypy_cache"})


def call(run: StepRun, agent: Any, req: AgentRequest, expected: list[str]) -> tuple[Any, list[str]]:
    """Ask the person (writes the prompt, or finds their answer); returns the result and the files they changed."""
    reach = R.for_author(run.ws, run.feature, req.role, expected, owner="you")
    saved = _saved(run.ws, run.feature, run.step.name, req.call_id)
    attempt = f"{run.attempt.n}@{run.attempt.started}"
    then, blobs = _load(saved, attempt)
    moved: set[str] = set()
    if then is not None:
        now = _walk(run.ws.root)
        moved = {p for p in set(then) | set(now) if then.get(p) != now.get(p) and reach.why_not(p) is None}
        moved = {p for p in moved if now.get(p, ("f",))[0] != "d" and then.get(p, ("f",))[0] != "d"}
        moved -= _same_bytes(run.ws.root, moved, blobs)
        moved = _seen_by_git(run.ws, moved)
        if reach.kind == R.IMPLEMENTER:
            moved = _mine(run, moved, now)
    if moved:  # a hash no file has: the person changed something since the prompt
        req = dataclasses.replace(req, before=(*req.before, *((p, "changed-since-the-prompt") for p in moved)))
    result = run.invoke(agent, req)
    if result.status is CallStatus.WAITING:
        if then is None:
            walked = _walk(run.ws.root)
            record = {"role": req.role, "attempt": attempt, "walk": walked, "blobs": _blobs(run.ws.root, walked, reach)}
            atomic_write_text(saved, json.dumps(record), fsync=False)
        return result, []
    changed = set(expected) | moved | {p for p, h in req.before if hash_file(run.ws.root / p) != h}
    remove(saved)
    if reach.kind == R.IMPLEMENTER:
        _taken(run.ws, run.feature, moved)
    _forget_claims(run.ws, run.feature)
    root = run.ws.root
    return result, sorted(p for p in changed if (root / p).is_file() or (p in moved and not os.path.lexists(root / p)))


def forget_walks(ws: Workspace, feature: str, step: str, call_id: str = "*") -> None:
    """The walks saved with a step's prompts (one call's, or all) answer nothing any more.

    Called when a new attempt of the step starts, and when a call is
    answered (by anyone: an agent may answer in a person's place after a
    change of roles), so that no other feature takes it for a person's
    implementation still waiting.
    """
    folder = ws.state / "waits" / feature
    for path in folder.glob(f"{step}-{call_id}.json") if folder.is_dir() else []:
        remove(path)


def _saved(ws: Workspace, feature: str, step: str, call_id: str) -> Path:
    return ws.state / "waits" / feature / f"{step}-{call_id}.json"


def _walk(root: Path) -> dict[str, Any]:
    return {p: list(k) for p, k in walk(root, NOT_WALKED).items() if not _tools(p)}


def _blobs(root: Path, walked: dict[str, Any], reach: Any) -> dict[str, str]:
    """The content (git blob id, ``:x`` when executable) of each file in the reach as the prompt is written.

    A file's stat changes without its bytes (``touch``, a checkout that
    rewrites a file as it was, mtimes set back): only bytes that differ
    are a person's answer, so each file's content is kept beside its stat.
    git's index vouches for unchanged tracked files without reading them.
    """
    from devloop.provenance.cache import workstate  # lazy: only a person's prompt is walked so

    files = [p for p, k in walked.items() if k[0] == "f" and reach.why_not(p) is None]
    return workstate.blob_ids(root, files)


def _same_bytes(root: Path, moved: set[str], blobs: dict[str, str] | None) -> set[str]:
    """The files among ``moved`` that hold now what they held when the prompt was written (a stat change only)."""
    if not blobs:
        return set()  # a walk saved by an older devloop: every stat change counts, as it did
    from devloop.provenance.cache import workstate  # lazy: only a person's answer is read so

    then = {p: blobs[p] for p in moved if p in blobs}
    now = workstate.blob_ids(root, sorted(then))
    return {p for p, blob in then.items() if now.get(p) == blob}


def _tools(rel: str) -> bool:
    """Folders tools fill (environments, packages, caches): never a person's answer, and too large to save."""
    return bool(TOOL_FOLDERS.intersection(rel.split("/")))


def _seen_by_git(ws: Workspace, paths: set[str]) -> set[str]:
    """The paths git does not ignore: a person's ignored files (a .env with their keys) are never shown to models."""

    listed = listing(ws, sorted(p for p in paths if os.path.lexists(ws.root / p)))
    if listed is None:
        return paths
    return {p for p in paths if p in listed or not os.path.lexists(ws.root / p)}


def _load(path: Path, attempt: str) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """The walk saved with this attempt's prompt (paths -> keys) and its files' contents (:func:`_blobs`).

    A walk saved for an earlier attempt (the step was redone, or an input
    changed, or an agent answered the call in the person's place) is none:
    what changed since that older prompt is not an answer to this one. The
    contents are None in a walk an older devloop saved.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if not isinstance(data, dict) or not isinstance(data.get("walk"), dict) or data.get("attempt") != attempt:
        return None, None
    return {p: list(k) for p, k in data["walk"].items()}, _contents(data)


def _mine(run: StepRun, moved: set[str], now: dict[str, Any]) -> set[str]:
    """The changed files that are this feature's, when other features wait on a person's implementation too."""
    others = _waiting_implementers(run.ws, run.feature)
    if not others:
        return moved
    claims = _claims(run.ws)
    reach = {g: R.for_author(run.ws, g, "implementer", []) for g in others}

    def changed_for(g: str, p: str) -> bool:
        """Whether ``p`` holds other bytes than when g's prompt was written (a changed stat alone is not enough)."""
        then, blobs = others[g]
        if then.get(p) == now.get(p) or reach[g].why_not(p) is not None:
            return False
        return not _same_bytes(run.ws.root, {p}, blobs)  # new since g's prompt, or an older walk: changed

    mine, unsure = set(), {}
    for p in sorted(moved):
        rivals = [g for g in others if changed_for(g, p)]
        if not rivals:
            mine.add(p)
            continue
        candidates = [run.feature, *rivals]
        owner = claims.get(p) or _by_change(run, p, candidates) or _by_paths(run.ws, p, candidates)
        if owner == run.feature:
            mine.add(p)
        elif owner is None:
            unsure[p] = rivals
    if unsure:
        paths = " ".join(sorted(unsure))
        rivals = sorted({g for gs in unsure.values() for g in gs})
        who = sorted({*rivals, run.feature})
        raise Waiting(
            f"devloop claim {run.feature} {paths}  (or claim any of them for {', '.join(rivals)}: they changed while "
            f"{' and '.join(who)} wait for your implementation, no feature's paths: select them, and each file "
            "counts for one feature only), then doit"
        )
    return mine


def _waiting_implementers(ws: Workspace, feature: str) -> dict[str, tuple[dict[str, Any], dict[str, str] | None]]:
    """Other features' saved walks of calls that wait on a person playing the implementer, with their files'
    contents as their prompts were written (None in a walk an older devloop saved)."""
    return {
        path.parent.name: ({p: list(k) for p, k in data["walk"].items()}, _contents(data))
        for path, data in _waits(ws, feature)
    }


def _contents(data: dict[str, Any]) -> dict[str, str] | None:
    """A saved walk's file contents (:func:`_blobs`), or None when it has none (saved by an older devloop)."""
    blobs = data.get("blobs")
    if not isinstance(blobs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in blobs.items()):
        return None
    return blobs


def _waits(ws: Workspace, but: str) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Each saved wait of a person implementing a feature other than ``but``: its file and its record."""
    folder = ws.state / "waits"
    for path in sorted(folder.glob("*/*.json")) if folder.is_dir() else []:
        if path.parent.name == but:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("role") == "implementer" and isinstance(data.get("walk"), dict):
            yield path, data


def _taken(ws: Workspace, feature: str, paths: set[str]) -> None:
    """``feature`` took ``paths``: for every other feature waiting on a person, they are as at its prompt now."""
    if not paths:
        return
    now = walk(ws.root, NOT_WALKED)
    for path, data in _waits(ws, feature):
        for p in paths:
            if p in now:
                data["walk"][p] = list(now[p])
            else:
                data["walk"].pop(p, None)
        atomic_write_text(path, json.dumps(data), fsync=False)


def _by_change(run: StepRun, rel: str, features: list[str]) -> str | None:
    """The one feature among ``features`` whose change already holds ``rel`` (a fix round of its code), or None."""

    if is_loop_file(rel):
        return None
    hits = []
    for f in features:
        lock = run.lock if f == run.feature else run.ws.read_lock_shared(f)
        if rel in lock.outputs("implement"):
            hits.append(f)
    return hits[0] if len(hits) == 1 else None


def _by_paths(ws: Workspace, rel: str, features: list[str]) -> str | None:
    """The one feature among ``features`` whose ``paths:`` select ``rel``, or None."""

    view = ws.config_view.get("features", {})
    hits = [f for f in features if matching(list((view.get(f) or {}).get("paths") or []), [rel])]
    return hits[0] if len(hits) == 1 else None


def _claims(ws: Workspace) -> dict[str, str]:
    try:
        data = json.loads((ws.state / CLAIMS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def claim(ws: Workspace, feature: str, paths: list[str]) -> list[str]:
    """Record that ``paths`` (relative to the workspace) are ``feature``'s work, for a person implementing several."""
    claims = _claims(ws)
    claims.update(dict.fromkeys(paths, feature))
    ws.ensure_state_dir()
    atomic_write_text(ws.state / CLAIMS, json.dumps(claims, indent=1, sort_keys=True), fsync=False)
    return list(paths)


def _forget_claims(ws: Workspace, feature: str) -> None:
    claims = _claims(ws)
    left = {p: f for p, f in claims.items() if f != feature}
    if left != claims:
        atomic_write_text(ws.state / CLAIMS, json.dumps(left, indent=1, sort_keys=True), fsync=False)
