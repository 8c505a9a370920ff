"""The loop's steps as objects, by name; their order and summaries live in :mod:`devloop.steps.order`.

A step's module is imported the first time that step is asked for: ``doit
smoke`` or one edited plan needs the code of the steps it runs, not of all
eight.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from devloop.steps.order import DEFAULT, ORDER, SUMMARIES, check_step, doit_dep, next_step, upstream_of

if TYPE_CHECKING:
    from devloop.steps.base import Step

_CLASSES = {
    "plan": ("devloop.steps.plan", "PlanStep"),
    "plan_review": ("devloop.steps.plan_review", "PlanReviewStep"),
    "red_team": ("devloop.steps.red_team", "RedTeamStep"),
    "implement": ("devloop.steps.implement", "ImplementStep"),
    "code_review": ("devloop.steps.code_review", "CodeReviewStep"),
    "deploy_review": ("devloop.steps.deploy_review", "DeployReviewStep"),
    "smoke": ("devloop.steps.smoke", "SmokeStep"),
    "evaluate": ("devloop.steps.evaluate", "EvaluateStep"),
}
if list(_CLASSES) != ORDER:  # pragma: no cover - a step added here must be added to devloop.steps.order too
    raise ImportError(f"devloop.steps.order lists {ORDER}, the registry {list(_CLASSES)}")


class _Steps(Mapping[str, "Step"]):
    """Name -> step object, in the loop's order; each made on first use."""

    def __init__(self) -> None:
        self._made: dict[str, Step] = {}

    def __getitem__(self, name: str) -> Step:
        step = self._made.get(name)
        if step is None:
            module, cls = _CLASSES[name]
            step = self._made[name] = getattr(importlib.import_module(module), cls)()
        return step

    def __iter__(self) -> Iterator[str]:
        return iter(ORDER)

    def __len__(self) -> int:
        return len(ORDER)

    def __contains__(self, name: object) -> bool:
        return name in _CLASSES


STEPS: Mapping[str, Step] = _Steps()

__all__ = ["DEFAULT", "ORDER", "STEPS", "SUMMARIES", "check_step", "doit_dep", "next_step", "upstream_of"]
