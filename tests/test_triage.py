"""The triage answer and the route it takes."""

from __future__ import annotations

import pytest

from devloop.judging.answers import UNPARSEABLE
from devloop.judging.triage import apply_route, parse_route
from devloop.provenance.state import FeatureLock, StepRecord


@pytest.mark.parametrize("route", ["deploy", "code", "plan", "validation"])
def test_each_route_parses(route: str) -> None:
    assert parse_route(f"The cause is X.\n\n**ROUTE: {route}**\n").verdict == route


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("ROUTE: code\nROUTE: plan\n", "contradictory"),
        ("ROUTE: database\n", "unknown route"),
        ("> ROUTE: code\n", "no 'ROUTE"),
        ("```\nROUTE: code\n```\n", "no 'ROUTE"),
        ("ROUTE: code\n```\ncut off", "not closed"),
    ],
)
def test_anything_else_is_unparseable(text: str, why: str) -> None:
    parsed = parse_route(text)
    assert parsed.verdict == UNPARSEABLE and why in parsed.reason


def test_a_route_invalidates_exactly_one_step_and_leaves_the_note() -> None:
    lock = FeatureLock("f", steps={"implement": StepRecord(state="done"), "plan": StepRecord(state="done")})
    assert apply_route(lock, "validation", "runs/x/triage.md") == "implement"
    force = lock.steps["implement"].force
    assert force is not None and force.by == "triage" and force.note == "runs/x/triage.md"
    assert lock.steps["plan"].force is None
    assert apply_route(lock, "deploy", "n") == "deploy_review" and lock.steps["deploy_review"].force is not None
