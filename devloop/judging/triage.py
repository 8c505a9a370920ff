"""After a failed smoke run or a fired trigger: ask the triage agent where to go back to, and go there.

The route invalidates exactly one step, with the triage note as its context:
``deploy`` → the deploy review, ``code`` → implement, ``plan`` → plan,
``validation`` → the planner fixes validation.md now, then implement re-runs.
"""

from __future__ import annotations

import re

from devloop.judging.answers import UNPARSEABLE, Keyword, Parsed, mention_pattern, one_verdict
from devloop.provenance.lockfile import now_iso
from devloop.provenance.state import FeatureLock, Force

ROUTES = {"deploy": "deploy_review", "code": "implement", "plan": "plan", "validation": "implement"}
ROUTE = Keyword(
    "route",
    "ROUTE: ...",
    re.compile(r"^ROUTE\s*:\s*(?P<value>[a-z]+)\b\s*(?P<rest>.*)$", re.IGNORECASE | re.ASCII),
    (mention_pattern("routes?", ""),),
)


def parse_route(text: str) -> Parsed:
    """Exactly one ``ROUTE: deploy|code|plan|validation`` line, under the keyword-line grammar of judging.answers."""
    out, hit, _ = one_verdict(text, ROUTE, {r.upper(): r for r in ROUTES})
    return Parsed(out) if hit else Parsed(UNPARSEABLE, out)


def apply_route(lock: FeatureLock, route: str, note: str) -> str:
    """Invalidate the one step the route names; it re-runs with the triage note in its prompt."""

    step = ROUTES[route]
    reason = f"triage route {route} ({note})"
    lock.step(step).request_force(Force(by="triage", reason=reason, note=note, at=now_iso()))
    return step
