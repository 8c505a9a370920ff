"""The loop's steps in dependency order. ``smoke`` and friends join in later issues."""

from __future__ import annotations

from devloop.steps.base import Step
from devloop.steps.code_review import CodeReviewStep
from devloop.steps.deploy_review import DeployReviewStep
from devloop.steps.evaluate import EvaluateStep
from devloop.steps.implement import ImplementStep
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
ORDER = list(STEPS)
# What a bare `doit` runs: everything but the post-deploy verification.
DEFAULT = [s for s in ORDER if s != "smoke"]


def doit_dep(name: str) -> str | None:
    """The task a step's doit task depends on: the previous step a bare `doit` runs."""
    chain = DEFAULT if name in DEFAULT else [*DEFAULT[: DEFAULT.index("deploy_review") + 1], name]
    i = chain.index(name)
    return chain[i - 1] if i else None


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
