"""The monitoring window after a passing smoke run: evaluate rollback triggers every interval.

A trigger that fires runs the configured rollback first, then triage routes
the loop back, exactly as a failed smoke run would.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devloop.errors import UsageError
from devloop.provenance.lockfile import now_iso
from devloop.workspace import Workspace


def watch(
    ws: Workspace,
    feature: str,
    duration: str | None,
    interval: str | None,
    echo: Callable[[str], None],
    sleep: Callable[[float], None],
) -> str:
    from devloop import wslock
    from devloop.checks.durations import format_duration, parse_duration
    from devloop.checks.model import parse_check_block
    from devloop.checks.runner import CheckContext, evaluate_triggers
    from devloop.prompts import read_text

    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    deploy = lock.get("deploy")
    if not deploy or (lock.get("smoke") or {}).get("passed_deploy") != deploy.get("id"):
        raise UsageError(f"monitoring starts after a passing smoke run of the current deploy: run doit smoke:{feature}")
    block = parse_check_block(read_text(ws, f"plans/{feature}/validation.md"), f"plans/{feature}/validation.md")
    if block is None or not block.rollback_triggers:
        raise UsageError(f"plans/{feature}/validation.md declares no rollback_triggers to watch")
    window = parse_duration(duration) if duration else (block.monitoring.duration if block.monitoring else None)
    every = parse_duration(interval) if interval else (block.monitoring.interval if block.monitoring else None)
    if not window or not every:
        raise UsageError(
            "no monitoring window: add `monitoring: {duration: 30m, interval: 1m}` or pass --duration/--interval"
        )
    from devloop.steps.smoke import new_run_dir

    rundir = ws.root / new_run_dir(ws, feature)
    log = rundir / "monitor.log"
    rundir.mkdir(parents=True, exist_ok=True)
    rounds = max(1, math.ceil(window / every))
    count, span, step = len(block.rollback_triggers), format_duration(window), format_duration(every)
    echo(f"Watching {count} trigger(s) of {feature} for {span}, every {step}")
    for i in range(rounds):
        now = dt.datetime.now(dt.UTC)
        ctx = CheckContext(ws.root, ws.config.gcp, feature, deploy.get("version"), deploy.get("at"), now)
        results = evaluate_triggers(block.rollback_triggers, ctx, now)
        stamp = f"[{i + 1}/{rounds} {format_duration(i * every)}]"
        with log.open("a", encoding="utf-8") as fh:
            for r in results:
                fh.write(f"{now_iso()} {stamp} {r.line()}\n")
                echo(f"{stamp} {r.line()}")
        fired = [r.name for r in results if r.outcome == "FAIL"]
        if fired:
            return _fired(ws, feature, lock, rundir, fired)
        if i + 1 < rounds:
            sleep(every)
    lock = ws.read_lock(feature)
    lock.setdefault("smoke", {})["monitored"] = {"deploy": deploy["id"], "at": now_iso(), "evaluations": rounds}
    ws.write_lock(feature, lock)
    return f"No trigger fired in {format_duration(window)} ({rounds} evaluations); log: {ws.rel(log)}"


def _fired(ws: Workspace, feature: str, lock: dict[str, Any], rundir: Path, fired: list[str]) -> str:
    """Rollback first, then triage and route, recorded on the smoke step."""
    from devloop.engine import current
    from devloop.steps.registry import STEPS
    from devloop.steps.run import StepRun
    from devloop.steps.smoke import rollback, triage
    from devloop.triage import apply_route

    rollback(ws, feature, rundir, fired)
    (rundir / "smoke.log").write_text(
        (rundir / "monitor.log").read_text(encoding="utf-8") + f"# triggers fired: {', '.join(fired)}\n",
        encoding="utf-8",
    )
    lock = ws.read_lock(feature)
    run = StepRun(ws, feature, STEPS["smoke"], lock, current(ws, feature, "smoke", lock).inputs)
    rel = ws.rel(rundir)
    route, note = triage(run, rel, {"fired": fired})
    step = apply_route(lock, route, note)
    deploy = lock.get("deploy") or {}
    state = lock.setdefault("smoke", {})
    state.update(failed_deploy=deploy.get("id"), last_route=step, round_trips=int(state.get("round_trips") or 0) + 1)
    record = lock["steps"].setdefault("smoke", {})
    record.update(state="failed", detail=f"trigger {', '.join(fired)} fired during monitoring; routed to {route}")
    record.pop("journal", None)
    ws.write_lock(feature, lock)
    return (
        f"Trigger {', '.join(fired)} fired: the rollback ran ({rel}/rollback.log); triage routed to {route}, "
        f"so {step} re-runs on the next doit. Next: doit"
    )
