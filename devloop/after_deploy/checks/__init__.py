"""Post-deploy checks: the ```yaml devloop block of validation.md, and running it.

Importing this package costs nothing until a name is used (PEP 562), and never
imports ``google.cloud``: the BigQuery and Logging clients are imported inside
the functions that run those checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "CheckContext": "base",
    "CheckError": "base",
    "format_duration": "durations",
    "parse_duration": "durations",
    "compile_expr": "expr",
    "Check": "model",
    "CheckBlock": "model",
    "Monitoring": "model",
    "Trigger": "model",
    "parse_check_block": "parse",
    "CheckResult": "runner",
    "evaluate_triggers": "runner",
    "run_checks": "runner",
}

__all__ = [
    "Check",
    "CheckBlock",
    "CheckContext",
    "CheckError",
    "CheckResult",
    "Monitoring",
    "Trigger",
    "compile_expr",
    "evaluate_triggers",
    "format_duration",
    "parse_check_block",
    "parse_duration",
    "run_checks",
]

if TYPE_CHECKING:
    from devloop.after_deploy.checks.base import CheckContext, CheckError
    from devloop.after_deploy.checks.expr import compile_expr
    from devloop.after_deploy.checks.model import Check, CheckBlock, Monitoring, Trigger
    from devloop.after_deploy.checks.parse import parse_check_block
    from devloop.after_deploy.checks.runner import CheckResult, evaluate_triggers, run_checks
    from devloop.runtime.durations import format_duration, parse_duration


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'devloop.after_deploy.checks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"devloop.after_deploy.checks.{home}"), name)
    globals()[name] = value
    return value
