"""Post-deploy checks: the ```yaml devloop block of validation.md, and running it.

Importing this package never imports ``google.cloud``; the BigQuery and
Logging clients are imported inside the functions that run those checks.
"""

from devloop.checks.base import CheckContext, CheckError
from devloop.checks.durations import format_duration, parse_duration
from devloop.checks.expr import compile_expr
from devloop.checks.model import Check, CheckBlock, Monitoring, Rollback, Trigger, parse_check_block
from devloop.checks.runner import CheckResult, evaluate_triggers, run_checks

__all__ = [
    "Check",
    "CheckBlock",
    "CheckContext",
    "CheckError",
    "CheckResult",
    "Monitoring",
    "Rollback",
    "Trigger",
    "compile_expr",
    "evaluate_triggers",
    "format_duration",
    "parse_check_block",
    "parse_duration",
    "run_checks",
]
