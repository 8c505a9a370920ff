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

from devloop.after_deploy.checks.parse import parse_check_block
from devloop.after_deploy.runs import new_run_dir
from devloop.config.workspace import Workspace
from devloop.loop.engine import execute
from devloop.provenance.lockfile import now_iso
from devloop.provenance.state import Force
from devloop.runtime import wslock
from devloop.runtime.atomic import append_bytes, atomic_write_text
from devloop.runtime.durations import format_duration, parse_duration
from devloop.runtime.errors import UsageError
from devloop.steps.prompts import read_text
from devloop.steps.smoke import block_cache, check_context, rollback


def watch(
    ws: Workspace,
    feature: str,
    duration: str | None,
    interval: str | None,
    echo: Callable[[str], None],
    sleep: Callable[[float], None],
) -> tuple[str, bool]:
    """Evaluate the triggers every interval; returns what to print and whether one fired."""
    from devloop.after_deploy.checks.runner import evaluate_triggers  # lazy: loads jinja2

    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    deploy = lock.deploy
    if not deploy or lock.smoke.get("passed_deploy") != deploy.get("id"):
        raise UsageError(f"monitoring starts after a passing smoke run of the current deploy: run doit smoke:{feature}")
    validation = f"plans/{feature}/validation.md"
    block = parse_check_block(read_text(ws, validation), validation, block_cache(ws, feature))
    if block is None or not block.rollback_triggers:
        raise UsageError(f"plans/{feature}/validation.md declares no rollback_triggers to watch")
    window = parse_duration(duration) if duration else (block.monitoring.duration if block.monitoring else None)
    every = parse_duration(interval) if interval else (block.monitoring.interval if block.monitoring else None)
    if not window or not every:
        raise UsageError(
            "no monitoring window: add `monitoring: {duration: 30m, interval: 1m}` or pass --duration/--interval"
        )

    rundir = ws.root / new_run_dir(ws, feature)
    log = rundir / "monitor.log"
    rundir.mkdir(parents=True, exist_ok=True)
    rounds = max(1, math.ceil(window / every))
    count, span, step = len(block.rollback_triggers), format_duration(window), format_duration(every)
    echo(f"Watching {count} trigger(s) of {feature} for {span}, every {step}")
    errors = 0
    for i in range(rounds):
        now = dt.datetime.now(dt.UTC)
        ctx = check_context(ws, feature, deploy, now)
        results = evaluate_triggers(block.rollback_triggers, ctx, now)
        stamp = f"[{i + 1}/{rounds} {format_duration(i * every)}]"
        append_bytes(log, "".join(f"{now_iso()} {stamp} {r.line()}\n" for r in results).encode("utf-8"))
        for r in results:
            echo(f"{stamp} {r.line()}")
        errors += sum(r.outcome == "ERROR" for r in results)
        fired = [r.name for r in results if r.outcome == "FAIL"]
        if fired:
            return _fired(ws, feature, rundir, fired, [r.as_dict() for r in results]), True
        if i + 1 < rounds:
            sleep(every)
    lock = ws.read_lock(feature)
    lock.smoke["monitored"] = {"deploy": deploy["id"], "at": now_iso(), "evaluations": rounds, "errors": errors}
    ws.write_lock(feature, lock)
    said = f"No trigger fired in {format_duration(window)} ({rounds} evaluations); log: {ws.rel(log)}"
    if errors:  # a trigger that could not observe was not watching: never an all-clear
        raise MonitorBlind(
            f"{said}; but {errors} trigger evaluation(s) ended in ERROR (see the log), so the deploy was not "
            "fully watched"
        )
    return said, False


class MonitorBlind(Exception):
    """Monitoring ran its window, but some trigger could not observe: not an all-clear."""


def _fired(ws: Workspace, feature: str, rundir: Path, fired: list[str], results: list[dict[str, Any]]) -> str:
    """A trigger fired: the rollback runs now, then the smoke step runs again on this evidence (triage routes).

    The evidence is seeded into a new attempt of the smoke step, so the
    fire is recorded (run folder, lock, status) exactly as a failed smoke
    run is, whether or not a rollback command is configured. The rollback
    and the lock's record of the fire come first, here: the smoke step
    refuses to run while a step upstream of it is not up to date (a review
    waiting for a person), and a deploy a trigger condemned is never left
    running for that.
    """
    import json

    rel = ws.rel(rundir)
    log = (rundir / "monitor.log").read_text(encoding="utf-8")
    atomic_write_text(rundir / "smoke.log", log + f"# triggers fired: {', '.join(fired)}\n")
    counts = {"checks": 0, "passed": 0, "failed": 0, "errors": 0, "triggers": len(results), "fired": len(fired)}
    lock = ws.read_lock(feature)
    result = {"feature": feature, "deploy": lock.deploy, "passed": False, "triggers": results, "counts": counts}
    atomic_write_text(rundir / "result.json", json.dumps(result, indent=2, default=str))
    outcome = {"passed": True, "fired": fired, "counts": counts}
    done_back = rollback(ws, feature, rundir, fired)
    lock = ws.read_lock(feature)
    deploy = lock.deploy or {}
    lock.smoke["fired"] = {"deploy": deploy.get("id"), "triggers": fired, "run": rel, "rollback": done_back["summary"]}
    reason = f"trigger {', '.join(fired)} fired during monitoring ({rel})"
    seed = {"run_dir": rel, "outcome": outcome, "rollback": done_back}  # the smoke run does not roll back again
    lock.step("smoke").request_force(Force(by="monitor", reason=reason, seed=seed))
    ws.write_lock(feature, lock)
    done = execute(ws, feature, "smoke")
    head = f"Trigger {', '.join(fired)} fired ({done_back['summary']}); recorded in {rel}."
    return f"{head} {done.detail or done.kind}\nNext: {done.next}"
