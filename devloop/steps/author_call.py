"""One author call, top to bottom: prepare the reach, run confined, find what changed, keep or put back, record.

An author (the planner, the implementer) writes files. Who writes them
decides how the changes are found:

- a program that edits the workspace itself (a command agent) runs in a
  :class:`~devloop.confine.watch.Box`: the operating system keeps it in its
  reach and the snapshot layer finds what it changed (and puts back what
  it may not change);
- a text-only agent answers with ``file=`` blocks that devloop writes, all
  or none, after checking each path against the same reach;
- a person answers between two runs: what they changed is found against a
  snapshot saved with the prompt (:mod:`devloop.steps.person`).

Whatever the way, a write out of reach refuses the whole answer, the reason
is recorded in the step's attempt, and the next call is asked with it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from devloop.agents.base import AgentRequest
from devloop.confine import reach as R
from devloop.confine.watch import Box, Outcome, SandboxUnavailable
from devloop.judging.answers import parse_file_blocks
from devloop.runtime.atomic import archive
from devloop.runtime.errors import StepFailed
from devloop.steps import person
from devloop.steps.files import has_text

if TYPE_CHECKING:
    from devloop.confine.watch import Box
    from devloop.steps.run import StepRun


def call(run: StepRun, agent: Any, req: AgentRequest, expected: list[str], watch: list[str]) -> tuple[Any, list[str]]:
    """One attempt by one agent; returns its result and the files it changed (in its reach)."""

    if _is_manual(agent):
        return person.call(run, agent, req, expected)
    reach = R.for_author(run.ws, run.feature, req.role, expected)
    _prepare(run, req, expected, watch)
    blocks = getattr(agent, "returns_file_blocks", False)  # it answers with text: devloop writes the files
    result, seen, why = confined(run, agent, req, R.for_judge(run.ws.root) if blocks else reach)
    if seen.refused:
        if kept := run.keep_answer(req.call_id, result.text):
            why += f"; its answer is kept at {kept}"
        raise run.rejected(req.call_id, why)
    if blocks:
        return result, _write_blocks(run, reach, result.text, req.call_id, req.role) if result.ok else []
    if not result.ok:
        return result, []
    return result, sorted(seen.changed)


def confined(run: StepRun, agent: Any, req: AgentRequest, reach: R.Reach, show: bool = True) -> tuple[Any, Any, str]:
    """One call; an agent that runs a program runs it in a box of ``reach``.

    Returns the result, what the program changed (see
    :class:`devloop.confine.watch.Outcome`) and, when it wrote out of its
    reach, the reason in one sentence.
    """

    if not getattr(agent, "runs_a_program", False):  # an HTTP endpoint, a person, recorded answers
        return run.invoke(agent, req, show=show), Outcome(), ""
    box = box_for(run, agent, reach)
    with box.watching() as seen:
        result = run.invoke(agent, dataclasses.replace(req, box=box), show=show)
    return result, seen, seen.why(f"{req.role} ({box.layer})") if seen.refused else ""


def box_for(run: StepRun, agent: Any, reach: R.Reach) -> Box:
    """The confinement of ``agent``'s program: its ``sandbox`` setting, else the workspace's."""

    cfg = getattr(agent, "config", None)
    setting = getattr(cfg, "sandbox", None) or run.ws.config.sandbox
    try:
        return Box(run.ws, reach, setting, getattr(cfg, "writable", ()), run.ws.history_dir(run.feature))
    except SandboxUnavailable as exc:
        raise StepFailed(str(exc)) from None


def _prepare(run: StepRun, req: AgentRequest, expected: list[str], watch: list[str]) -> None:
    """Archive what the agent may overwrite (a hand edit, the previous round's code), then journal the call."""
    for rel in dict.fromkeys([*expected, *watch]):
        archive(run.ws.root, run.ws.root / rel, run.ws.history_dir(run.feature), run.step.name)
    run.attempt.begin(req.call_id, [*expected, *watch])
    run.save()


def _write_blocks(run: StepRun, reach: R.Reach, text: str, call_id: str, role: str) -> list[str]:
    """Write a text-only agent's ``file=`` blocks, all or none: one path out of reach refuses the answer."""

    try:
        files = parse_file_blocks(text)
    except ValueError as exc:
        kept = run.keep_answer(call_id, text)
        raise run.rejected(call_id, f"{role} answer rejected: {exc}" + (f"; kept at {kept}" if kept else "")) from None
    refused = R.refused(reach, files)
    if refused:
        why = f"{role} answer rejected: it writes where an author may not: {R.described(refused)}"
        if kept := run.keep_answer(call_id, text):
            why += f"; kept at {kept}"
        raise run.rejected(call_id, why)
    for rel, body in files.items():
        run.write(rel, body, 0o755 if rel.endswith(".sh") else None)
    return sorted(files)


def hand_written(run: StepRun, expected: list[str]) -> bool:
    """Every expected file already exists, and devloop never wrote any of them."""
    return bool(expected) and all(p not in run.lock.artifacts and has_text(run.ws.root / p) for p in expected)


def _is_manual(agent: Any) -> bool:
    return type(agent).__name__ == "ManualAgent"
