"""Is a step up to date? Pure functions over a lock record and current hashes.

Like doit's ``DependencyStatus``, the answer carries *reasons*, so that
``devloop why`` only has to print them. Only content cascades: a change of
the prompt template, the agents or the policy a finished step ran with makes
it *drifted*, which counts as up to date until ``devloop redo`` asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from devloop.provenance.hashing import MISSING, short
from devloop.provenance.state import DONE, FAILED, GATE, INTERRUPTED, NEW, RUNNING, WAITING

if TYPE_CHECKING:
    from devloop.provenance.state import StepRecord

# How each status reads in status tables, graphs and reports.
LABELS = {
    "fresh": "up to date",
    "drifted": "drifted",
    "new": "not run",
    "stale": "stale",
    "forced": "forced",
    "edited": "hand edit",
    "waiting": "waiting",
    "gate": "gate",
    "failed": "failed",
    "interrupted": "interrupted",
    "running": "running",
    "blocked": "pending",
}
SETTLED = ("fresh", "drifted")  # nothing for a plain doit to do


@dataclass(frozen=True)
class Current:
    """What the step would run with now."""

    inputs: dict[str, str]  # path -> hash (MISSING when absent)
    template: str
    config: str
    outputs: dict[str, str]  # recorded outputs -> hash on disk now (MISSING when absent or blank)


@dataclass
class Status:
    """Verdict for one step, and why."""

    state: str  # a key of LABELS
    reasons: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        """Nothing to run: up to date, or drifted (shown, but re-run only on request)."""
        return self.state in SETTLED


def assess(record: StepRecord | None, cur: Current, artifacts: dict[str, dict]) -> Status:
    """Compare a step's lock ``record`` with ``cur``; ``artifacts`` is the lock's registry."""

    if record is None or (record.state == NEW and record.force is None):
        return Status("new", ["never run"])
    if record.force is not None:
        return Status("forced", [f"forced by {record.force.reason}"])
    state = record.state
    if state == RUNNING:
        call = record.attempt.inflight if record.attempt else None
        during = f" during call {call}" if call else ""
        return Status("interrupted", [f"a run stopped{during}; the next doit resumes where it stopped"])
    if state in (WAITING, GATE, FAILED, INTERRUPTED):
        return Status(state, [record.detail or state])
    if state != DONE:
        return Status("stale", [f"unknown state {state!r}"])
    missing = [p for p, h in cur.outputs.items() if h == MISSING]
    reasons = [f"output {p} is missing or empty" for p in missing]
    edited = [p for p, h in cur.outputs.items() if h != MISSING and p in artifacts and artifacts[p].get("sha256") != h]
    old = record.inputs
    for p in sorted(set(old) | set(cur.inputs)):
        before, now = old.get(p), cur.inputs.get(p)
        if before == now:
            continue
        if before is None:
            reasons.append(f"new input {p}")
        elif now is None:
            reasons.append(f"input {p} is no longer used")
        else:
            reasons.append(f"input {p} changed ({short(before)} -> {short(now)})")
    if edited and not missing:
        return Status("edited", [f"{p} was edited by hand (will be adopted)" for p in edited] + reasons, edited)
    if reasons:
        return Status("stale", reasons)
    drift = []
    if record.template != cur.template:
        drift.append("prompt template changed")
    if record.config != cur.config:
        drift.append("agent or policy config changed")
    if drift:
        return Status("drifted", [*drift, "re-run it with devloop redo (a plain doit keeps it)"])
    return Status("fresh")
