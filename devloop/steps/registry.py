"""The loop's steps as objects, by name; their order and summaries live in :mod:`devloop.steps.order`."""

from __future__ import annotations

from devloop.steps.base import Step
from devloop.steps.code_review import CodeReviewStep
from devloop.steps.deploy_review import DeployReviewStep
from devloop.steps.evaluate import EvaluateStep
from devloop.steps.implement import ImplementStep
from devloop.steps.order import DEFAULT, ORDER, SUMMARIES, check_step, doit_dep, next_step, upstream_of
from devloop.steps.plan import PlanStep
from devloop.steps.plan_review import PlanReviewStep
from devloop.steps.red_team import RedTeamStep
from devloop.steps.smoke import SmokeStep

STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        PlanStep(),
        PlanReviewStep(),
        RedTeamStep(),
        ImplementStep(),
        CodeReviewStep(),
        DeployReviewStep(),
        SmokeStep(),
        EvaluateStep(),
    )
}
if list(STEPS) != ORDER:  # pragma: no cover - a step added here must be added to devloop.steps.order too
    raise ImportError(f"devloop.steps.order lists {ORDER}, the registry {list(STEPS)}")


__all__ = ["DEFAULT", "ORDER", "STEPS", "SUMMARIES", "check_step", "doit_dep", "next_step", "upstream_of"]
