"""After a failed smoke run or a fired trigger: ask the triage agent where to go back to, and go there.

The route invalidates exactly one step, with the triage note as its context:
``deploy`` → the deploy review, ``code`` → implement, ``plan`` → plan,
``validation`` → the planner fixes validation.md now, then implement re-runs.
"""

from __future__ import annotations

import re

from devloop.answers import UNPARSEABLE, Parsed, answer_problem, split_blocks
from devloop.provenance.state import FeatureLock, Force

ROUTES = {"deploy": "deploy_review", "code": "implement", "plan": "plan", "validation": "implement"}
_ROUTE = re.compile(r"^\**ROUTE\**\s*:\s*\**\s*([a-z]+)\b", re.IGNORECASE)


def parse_route(text: str) -> Parsed:
    """Exactly one ``ROUTE: deploy|code|plan|validation`` line outside quotes and code blocks."""
    if problem := answer_problem(text):
        return Parsed(UNPARSEABLE, problem)
    prose = split_blocks(text)[0]
    found = set()
    for line in prose:
        m = _ROUTE.match(line.strip())
        if m:
            route = m.group(1).lower()
            if route not in ROUTES:
                return Parsed(UNPARSEABLE, f"unknown route {route!r}; expected one of: {', '.join(ROUTES)}")
            found.add(route)
    if len(found) != 1:
        why = "no 'ROUTE: ...' line" if not found else f"contradictory routes: {', '.join(sorted(found))}"
        return Parsed(UNPARSEABLE, why)
    return Parsed(found.pop())


def apply_route(lock: FeatureLock, route: str, note: str) -> str:
    """Invalidate the one step the route names; it re-runs with the triage note in its prompt."""
    from devloop.provenance.lockfile import now_iso

    step = ROUTES[route]
    reason = f"triage route {route} ({note})"
    lock.step(step).request_force(Force(by="triage", reason=reason, note=note, at=now_iso()))
    return step
