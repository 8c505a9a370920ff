"""The loop's steps in dependency order. ``smoke`` and friends join in later issues."""

from __future__ import annotations

from devloop.steps.base import Step
from devloop.steps.code_review import CodeReviewStep
from devloop.steps.evaluate import EvaluateStep
from devloop.steps.implement import ImplementStep
from devloop.steps.plan import PlanStep
from devloop.steps.plan_review import PlanReviewStep
from devloop.steps.red_team import RedTeamStep

STEPS: dict[str, Step] = {
    s.name: s for s in (PlanStep(), PlanReviewStep(), RedTeamStep(), ImplementStep(), CodeReviewStep(), EvaluateStep())
}
ORDER = list(STEPS)


def upstream_of(name: str) -> list[str]:
    return ORDER[: ORDER.index(name)]


def next_step(name: str) -> str | None:
    i = ORDER.index(name)
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


def check_step(name: str) -> str:
    from devloop.errors import UsageError

    if name not in STEPS:
        raise UsageError(f"unknown step {name!r}; steps are: {', '.join(ORDER)}")
    return name
