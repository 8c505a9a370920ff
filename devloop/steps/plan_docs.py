"""What the plan's documents say, as more than one step reads it: plan.md's risk tags, validation.md's check block."""

from __future__ import annotations

import re

from devloop.config.workspace import Workspace
from devloop.runtime.errors import DevloopError
from devloop.steps.prompts import read_text

_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


def risk_tags(plan_text: str) -> list[str]:
    """The ``risk:`` tags of plan.md's YAML front matter (a list or a comma-separated string)."""
    m = _FRONT.match(plan_text)
    if not m:
        return []
    from devloop.runtime.safeyaml import YamlLimit, load  # lazy: loads yaml

    try:
        data = load(m.group(1))
    except YamlLimit:
        return []
    risk = data.get("risk") if isinstance(data, dict) else None
    if isinstance(risk, str):
        risk = [r.strip() for r in risk.split(",")]
    return [str(r).strip().lower() for r in risk or [] if str(r).strip()]


def block_problem(ws: Workspace, validation: str) -> str | None:
    """Why the ```yaml devloop block of validation.md is invalid (its line and field), or None.

    A malformed block fails planning, where the planner can be asked again,
    rather than the smoke run after a deploy.
    """
    from devloop.after_deploy.checks.parse import parse_check_block  # the light path first: pydantic only when it must

    try:
        parse_check_block(read_text(ws, validation), validation)
    except DevloopError as exc:
        return f"the post-deploy check block is invalid: {exc}"
    return None
