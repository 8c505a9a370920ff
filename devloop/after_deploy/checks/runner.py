"""Run smoke checks and rollback triggers; every result is one line of actual vs expected.

Fail-closed: a check is PASS only when its kind observed and its expression
gave exactly ``true``. Could not observe, could not evaluate, or a
non-boolean result is ERROR. For triggers PASS means "did not fire", FAIL
means FIRED, and an ERROR is never taken for "did not fire".
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from devloop.after_deploy.checks.base import CheckContext, CheckError, kind_module
from devloop.after_deploy.checks.expr import ExprError

if TYPE_CHECKING:  # the light (command-only) or the pydantic models; the runner reads only what both have
    from devloop.after_deploy.checks import light, model

    Check = model.Check | light.Check
    Trigger = model.Trigger | light.Trigger

Outcome = Literal["PASS", "FAIL", "ERROR"]
VALUE_CHARS = 60  # per value in a result line
ACTUAL_CHARS = 200  # per value kept in CheckResult.actual
DETAIL_CHARS = 300
SUMMARY = {"logging": ("count",), "http": ("status", "latency_ms"), "command": ("exit_code",)}


@dataclass
class CheckResult:
    name: str
    kind: str
    outcome: Outcome
    actual: dict[str, Any]
    expected: str
    detail: str = ""
    duration_s: float = 0.0
    trigger: bool = False
    shown: list[str] = field(default_factory=list)  # the names the line shows, in order

    @property
    def fired(self) -> bool:
        return self.trigger and self.outcome == "FAIL"

    def line(self) -> str:
        """``PASS name (kind) expr | actual: a=1, b=2 | 0.41s``; a trigger reads ``FIRED`` or ``not fired``."""
        word = self.outcome
        if self.trigger and self.outcome != "ERROR":
            word = "FIRED" if self.fired else "not fired"
        if self.outcome == "ERROR":
            middle = f"error: {self.detail}"
        else:
            shown = self.shown or list(self.actual)
            middle = "actual: " + ", ".join(f"{k}={_short(self.actual[k], VALUE_CHARS)}" for k in shown)
        return f"{word} {self.name} ({self.kind}) {self.expected} | {middle} | {self.duration_s:.2f}s"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "shown"}


def run_checks(checks: Sequence[Check], ctx: CheckContext, jobs: int = 1) -> list[CheckResult]:
    """Each smoke check once, in order; ``jobs`` > 1 runs them on a small thread pool."""
    return _run_all([(c, _with_window(ctx, c)) for c in checks], jobs, trigger=False)


def evaluate_triggers(
    triggers: Sequence[Trigger], ctx: CheckContext, now: datetime, jobs: int = 1
) -> list[CheckResult]:
    """Each rollback trigger over its window ending at ``now``: FAIL means it FIRED."""
    at_now = dataclasses.replace(ctx, now=now)
    return _run_all([(t, _with_window(at_now, t)) for t in triggers], jobs, trigger=True)


def run_one(probe: Check | Trigger, ctx: CheckContext, trigger: bool = False) -> CheckResult:
    """Observe, then judge. Only a clean ``true`` (or, for a trigger, a clean ``false``) is PASS."""
    start = time.monotonic()
    result = CheckResult(probe.name, probe.kind, "ERROR", {}, probe.expression, trigger=trigger)
    try:
        observed = kind_module(probe.kind).observe(probe.spec, ctx)
        result.actual = {k: _trim(v) for k, v in observed.items()}
        result.shown = _shown(probe, observed)
        truth = probe.expr.truth(observed)
        result.outcome = ("FAIL" if truth else "PASS") if trigger else ("PASS" if truth else "FAIL")
    except (CheckError, ExprError) as exc:
        result.detail = _short(str(exc), DETAIL_CHARS, quote=False)
        if probe.kind == "bigquery" and result.actual.get("rows") == 0 and isinstance(exc, ExprError):
            result.detail += " (the query returned no rows)"
    except Exception as exc:  # a bug in a kind must not stop the other checks, nor pass
        result.detail = _short(f"internal error {type(exc).__name__}: {exc}", DETAIL_CHARS, quote=False)
    result.duration_s = time.monotonic() - start
    return result


def _run_all(items: list[tuple[Check | Trigger, CheckContext]], jobs: int, trigger: bool) -> list[CheckResult]:
    if jobs <= 1 or len(items) <= 1:
        return [run_one(p, c, trigger) for p, c in items]
    from concurrent.futures import ThreadPoolExecutor  # only here: `doit smoke` runs its checks one by one

    with ThreadPoolExecutor(max_workers=min(jobs, len(items)), thread_name_prefix="devloop-check") as pool:
        return list(pool.map(lambda item: run_one(item[0], item[1], trigger), items))


def _with_window(ctx: CheckContext, probe: Check | Trigger) -> CheckContext:
    return dataclasses.replace(ctx, window=probe.window)


def _shown(probe: Check | Trigger, observed: dict[str, Any]) -> list[str]:
    """The kind's headline names, then whatever else the expression reads."""
    if probe.kind == "bigquery":
        base = [k for k in observed if k != "bytes_processed"]
    else:
        base = [k for k in SUMMARY.get(probe.kind, ()) if k in observed]
    extra = sorted(n for n in probe.expr.names if n in observed and n not in base)
    return base + extra


def _trim(value: Any) -> Any:
    if isinstance(value, str) and len(value) > ACTUAL_CHARS:
        return value[:ACTUAL_CHARS] + f"...({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in list(value.items())[:50]}
    return value


def _short(value: Any, limit: int, quote: bool = True) -> str:
    text = repr(value) if quote and isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
