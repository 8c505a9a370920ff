"""Author calls: an agent (or a person) writes files, and devloop finds which ones changed.

A command agent edits the workspace itself, so its changes are found by
comparing snapshots taken around the call (serialised across parallel runs);
a text-only agent answers with ``file=`` blocks that devloop writes; a person
answers between two runs, so their changes are found against a snapshot
saved with the prompt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devloop.agents.base import AgentRequest, CallStatus
from devloop.atomic import archive, atomic_write_text
from devloop.provenance.hashing import hash_file
from devloop.steps import reach
from devloop.steps.files import has_text, snapshot

if TYPE_CHECKING:
    from devloop.steps.run import StepRun


def call(
    run: StepRun,
    agent: Any,
    req: AgentRequest,
    expected: list[str],
    scope: Callable[[str], bool] | None,
    watch: list[str],
) -> tuple[Any, list[str]]:
    """One attempt by one agent; returns its result and the files it changed.

    Before an agent that edits files runs, what it may overwrite is archived:
    the files it must write and the feature's code (a hand edit, or the
    previous round's code, must survive an agent's rewrite).
    """
    if type(agent).__name__ == "ManualAgent":
        return _manual(run, agent, req, expected, scope)
    for rel in dict.fromkeys([*expected, *watch]):
        archive(run.ws.root, run.ws.root / rel, run.ws.history_dir(run.feature), run.step.name)
    run.attempt.begin(req.call_id, [*expected, *watch])
    run.save()
    diffs = not getattr(agent, "returns_file_blocks", False)
    root = run.ws.root
    with _alone(run, diffs and scope is None):
        held = reach.guarded(root, run.feature, _control(run)) if diffs else {}
        snap = snapshot(root) if diffs else {}
        result = run.invoke(agent, req)
        after = snapshot(root) if diffs else {}
    if not diffs:
        return result, _write_blocks(run, result.text, req.call_id, req.role, expected, scope) if result.ok else []
    moved = sorted(p for p in set(snap) | set(after) if snap.get(p) != after.get(p))  # added, changed, deleted
    refused = reach.refused_writes(root, run.feature, [p for p in moved if own(run, p)], expected, _control(run))
    if refused:
        undone = reach.put_back(root, refused, held, run.ws.history_dir(run.feature))
        why = f"{req.role} changed files an author may not: {reach.described(refused)}"
        if undone:
            why += f"; devloop put back {', '.join(undone)} (the agent's versions are in the feature's .history/)"
        if kept := run.keep_answer(req.call_id, result.text):
            why += f"; its answer is kept at {kept}"
        raise run.rejected(req.call_id, why)
    if not result.ok:
        return result, []
    keep = _keeper(run, scope)
    return result, [p for p in moved if (keep(p) or p in expected) and reach.inside(root, root / p)]


def _keeper(run: StepRun, scope: Callable[[str], bool] | None) -> Callable[[str], bool]:
    """Which changed files count as this call's work: ``scope``, or by default not another feature's."""
    return scope or (lambda rel: own(run, rel))


def _manual(
    run: StepRun, agent: Any, req: AgentRequest, expected: list[str], scope: Callable[[str], bool] | None
) -> tuple[Any, list[str]]:
    """A person answers between two runs: what they changed is found against a snapshot taken with the prompt.

    Any file of the feature changed since the prompt counts as an answer
    (with every expected file written): a fix may touch only the code.
    """
    saved = run.ws.state / "waits" / run.feature / f"{run.step.name}-{req.call_id}.json"
    try:
        then = {p: tuple(v) for p, v in json.loads(saved.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, TypeError):
        then = None
    moved: set[str] = set()
    if then is not None:
        now, keep = snapshot(run.ws.root), _keeper(run, scope)
        moved = {p for p in set(then) | set(now) if then.get(p) != now.get(p) and keep(p)}
    if moved:  # a hash no file has: the person changed something since the prompt
        req = dataclasses.replace(req, before=(*req.before, *((p, "changed-since-the-prompt") for p in moved)))
    result = run.invoke(agent, req)
    if result.status is CallStatus.WAITING:
        if then is None:
            atomic_write_text(saved, json.dumps(snapshot(run.ws.root)), fsync=False)
        return result, []
    changed = set(expected) | moved | {p for p, h in req.before if hash_file(run.ws.root / p) != h}
    saved.unlink(missing_ok=True)
    root = run.ws.root
    return result, sorted(p for p in changed if (root / p).is_file() or (p in moved and not os.path.lexists(root / p)))


def _alone(run: StepRun, needed: bool) -> contextlib.AbstractContextManager[None]:
    """Serialize author calls whose changes are found by snapshots (see ``wslock.serial``)."""
    if not needed:
        return contextlib.nullcontext()
    from devloop.wslock import serial

    return serial(run.ws.state, "authors")


def own(run: StepRun, rel: str) -> bool:
    """False for files that belong to another feature."""
    if rel.startswith("plans/"):
        return rel.startswith(f"{run.fdir}/")
    if rel.startswith("scripts/smoke/"):
        return rel == f"scripts/smoke/{run.feature}.sh"
    return True


def hand_written(run: StepRun, expected: list[str]) -> bool:
    """Every expected file already exists, and devloop never wrote any of them."""
    return bool(expected) and all(p not in run.lock.artifacts and has_text(run.ws.root / p) for p in expected)


def _write_blocks(
    run: StepRun, text: str, call_id: str, role: str, expected: list[str], scope: Callable[[str], bool] | None
) -> list[str]:
    """Write a text-only agent's ``file=`` blocks, all or none: one forbidden path refuses the answer."""
    from devloop.answers import parse_file_blocks

    try:
        files = parse_file_blocks(text)
    except ValueError as exc:
        kept = run.keep_answer(call_id, text)
        raise run.rejected(call_id, f"{role} answer rejected: {exc}" + (f"; kept at {kept}" if kept else "")) from None
    refused = reach.refused_writes(run.ws.root, run.feature, files, expected, _control(run))
    if scope is not None:
        refused.update({p: "outside what this step changes" for p in files if not scope(p) and p not in expected})
    if refused:
        why = f"{role} answer rejected: it writes where an author may not: {reach.described(refused)}"
        if kept := run.keep_answer(call_id, text):
            why += f"; kept at {kept}"
        raise run.rejected(call_id, why)
    for rel, body in files.items():
        run.write(rel, body, 0o755 if rel.endswith(".sh") else None)
    return sorted(files)


def _control(run: StepRun) -> frozenset[str]:
    """The loop's control files, computed once per workspace object."""
    cached = run.ws.memo.get("control-files")
    if cached is None:
        cached = run.ws.memo["control-files"] = reach.control_files(run.ws)
    return cached
