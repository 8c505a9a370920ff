"""Seed 000's merge rules as pure functions over one cycle's results.

Every reviewer ends in exactly one state; only an explicit PRODUCTION GRADE
(or a NEEDS WORK whose claims are all non-blocking) counts toward the quorum.
A claim blocks when the verifier did not reject it and its severity is one
the implementer must fix. A wrong ``file:line`` is not a refutation (models
often miss the line of a real problem): a P0-P2 claim whose place does not
check out is judged by the verifier against the whole file instead, and
only a rejection dismisses it. A claim the verifier left without a verdict
keeps blocking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PRODUCTION_GRADE = "PRODUCTION_GRADE"
NEEDS_WORK = "NEEDS_WORK"
DID_NOT_RUN = "DID_NOT_RUN"
UNPARSEABLE = "UNPARSEABLE"
DOWN = (DID_NOT_RUN, UNPARSEABLE)


@dataclass
class Claim:
    n: int
    reviewer: str
    severity: str
    file: str
    line: int
    text: str
    location: str = "ok"  # or why the file:line cannot be right
    verdict: str | None = None  # CONFIRMED, REJECTED, or None (no verdict)
    reason: str = ""
    whole: bool = False  # the place was wrong: judged against the whole file (or the feature's code)

    def blocks(self, fix: list[str]) -> bool:
        return (self.location == "ok" or self.whole) and self.verdict != "REJECTED" and self.severity in fix


@dataclass
class Reviewer:
    slot: str  # the configured reviewer this seat belongs to
    agent: str  # who actually answered (differs after a substitution)
    state: str
    model: str | None = None
    answer: str = ""
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def ok(self, claims: list[Claim], fix: list[str]) -> bool:
        """PRODUCTION GRADE, or NEEDS WORK with claims of which none blocks ("only P3 noise")."""
        mine = [c for c in claims if c.reviewer == self.agent]
        if any(c.blocks(fix) for c in mine):
            return False
        if self.state == PRODUCTION_GRADE:
            return True
        return self.state == NEEDS_WORK and bool(mine)


@dataclass
class Decision:
    outcome: str  # pass, fix, stall
    ok: int
    needed: int
    reason: str


def needed_votes(quorum: int | str, seats: int) -> int:
    return seats if quorum == "all" else int(quorum)


def decide(
    reviewers: list[Reviewer],
    claims: list[Claim],
    fix: list[str],
    quorum: int | str,
    stall_at: int,
    gates_green: bool,
) -> Decision:
    ok = sum(1 for r in reviewers if r.ok(claims, fix))
    needed = needed_votes(quorum, len(reviewers))
    down = [r for r in reviewers if r.state in DOWN]
    if len(down) >= stall_at:
        who = ", ".join(f"{r.agent} ({r.detail or r.state})" for r in down)
        return Decision("stall", ok, needed, f"hard stall: {len(down)} reviewers unavailable: {who}")
    blocking = [c for c in claims if c.blocks(fix)]
    unsubstantiated = [r for r in reviewers if r.state == NEEDS_WORK and not r.ok(claims, fix)]
    if ok >= needed and not blocking and gates_green:
        return Decision("pass", ok, needed, f"{ok}/{len(reviewers)} PRODUCTION GRADE (needed {needed})")
    if blocking or unsubstantiated or not gates_green:
        parts = []
        if blocking:
            parts.append(f"{len(blocking)} blocking claim(s)")
        if not gates_green:
            parts.append("local gates red")
        if unsubstantiated and not blocking:
            parts.append(f"{len(unsubstantiated)} NEEDS WORK vote(s) to address")
        return Decision("fix", ok, needed, ", ".join(parts))
    who = ", ".join(f"{r.agent} ({r.detail or r.state})" for r in down)
    return Decision(
        "stall", ok, needed, f"hard stall: only {ok} of {needed} needed votes and nothing to fix; down: {who}"
    )


def reviewer_seats(reviewers: list[str], adhoc: list[str], implementer: str) -> tuple[list[str], list[str]]:
    """The seats for this feature: the implementer never reviews; a freed seat is filled from the ad-hoc pool.

    Returns (seats, notes).
    """
    seats = [r for r in reviewers if r != implementer]
    notes = []
    pool = [a for a in adhoc if a != implementer and a not in seats]
    while len(seats) < len(reviewers) and pool:
        sub = pool.pop(0)
        seats.append(sub)
        notes.append(f"{sub} fills the seat of {implementer}, who implemented this feature")
    return seats, notes


def substitute(adhoc: list[str], busy: set[str]) -> str | None:
    """The first ad-hoc agent not already busy in this cycle (nor the implementer)."""
    return next((a for a in adhoc if a not in busy), None)


RELOCATED = ("P0", "P1", "P2")  # severities whose wrong place goes to the verifier rather than the bin


def claims_from(reviewer: Reviewer, start: int) -> list[Claim]:
    return [
        Claim(start + i, reviewer.agent, f["severity"], f["file"], int(f["line"]), f.get("text", ""))
        for i, f in enumerate(reviewer.findings)
    ]
