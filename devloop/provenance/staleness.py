"""Is a step up to date? Pure functions over a lock record and current hashes.

Like doit's ``DependencyStatus``, the answer carries *reasons*, so that
``devloop why`` only has to print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devloop.provenance.hashing import MISSING, short

# Step states recorded in the lock.
DONE = "done"
WAITING = "waiting"
GATE = "gate"
FAILED = "failed"


# How each state reads in status tables, graphs and reports.
LABELS = {
    "fresh": "up to date",
    "new": "not run",
    "stale": "stale",
    "edited": "hand edit",
    "waiting": "waiting",
    "gate": "gate",
    "failed": "failed",
    "blocked": "pending",
}


@dataclass(frozen=True)
class Current:
    """What the step would run with now."""

    inputs: dict[str, str]  # path -> hash (MISSING when absent)
    template: str
    config: str
    outputs: dict[str, str]  # recorded outputs -> hash on disk now


@dataclass
class Status:
    """Verdict for one step: ``fresh`` or not, and why."""

    state: str  # "fresh", "stale", "waiting", "gate", "failed", "edited", "blocked", "new"
    reasons: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"


def assess(record: dict[str, Any] | None, cur: Current, artifacts: dict[str, Any]) -> Status:
    """Compare a step's lock ``record`` with ``cur``; ``artifacts`` is the lock's registry."""
    if not record:
        return Status("new", ["never run"])
    if record.get("force"):
        return Status("stale", ["forced by devloop redo"])
    state = record.get("state")
    inflight = (record.get("journal") or {}).get("inflight")
    if inflight:
        return Status("stale", [f"interrupted during call {inflight}; the next doit archives what it left and resumes"])
    if state != DONE:
        detail = record.get("detail") or state or "unfinished"
        return Status(state if state in (WAITING, GATE, FAILED) else "stale", [str(detail)])
    reasons: list[str] = []
    missing = [p for p, h in cur.outputs.items() if h == MISSING]
    for p in missing:
        reasons.append(f"output {p} is missing")
    edited = [p for p, h in cur.outputs.items() if h != MISSING and p in artifacts and artifacts[p].get("sha256") != h]
    old_inputs: dict[str, str] = record.get("inputs") or {}
    for p in sorted(set(old_inputs) | set(cur.inputs)):
        before, now = old_inputs.get(p), cur.inputs.get(p)
        if before == now:
            continue
        if before is None:
            reasons.append(f"new input {p}")
        elif now is None:
            reasons.append(f"input {p} is no longer used")
        else:
            reasons.append(f"input {p} changed ({short(before)} -> {short(now)})")
    if record.get("template") != cur.template:
        reasons.append("prompt template changed")
    if record.get("config") != cur.config:
        reasons.append("agent or policy config changed")
    if edited and not missing:
        return Status("edited", [f"{p} was edited by hand (will be adopted)" for p in edited] + reasons, edited)
    return Status("stale" if reasons else "fresh", reasons)
