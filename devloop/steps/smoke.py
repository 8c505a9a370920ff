"""Step 7 (`doit smoke`): after a deploy, run the smoke script and the declarative checks.

A pass settles the feature. A failure (or a rollback trigger that fires,
after the configured rollback ran) goes to the triage agent, whose route
invalidates exactly one earlier step; round trips are capped, then a human
decides. Never part of a plain `doit`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from devloop.after_deploy.checks.parse import parse_check_block
from devloop.after_deploy.deploys import commands, run_configured, stamp_hash
from devloop.after_deploy.gcpdetect import deploy_files
from devloop.after_deploy.runs import new_run_dir
from devloop.config.workspace import Workspace
from devloop.confine import watch
from devloop.confine.reach import for_judge
from devloop.judging.triage import apply_route, parse_route
from devloop.provenance.hashing import hash_file
from devloop.provenance.state import FeatureLock
from devloop.runtime.atomic import append_bytes, atomic_write_text
from devloop.runtime.envs import allow_listed
from devloop.runtime.errors import DevloopError, StepFailed
from devloop.runtime.redact import redact
from devloop.steps.base import Done, Step, Waiting
from devloop.steps.code_view import git_diff
from devloop.steps.plan_docs import block_problem
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun

CHECK_BLOCK_MARK = "```yaml devloop"


def has_checks(ws: Workspace, feature: str) -> bool:
    return CHECK_BLOCK_MARK in read_text(ws, f"plans/{feature}/validation.md")


class SmokeStep(Step):
    name = "smoke"
    roles = ("triage", "planner")
    templates = ("triage.md.j2", "validation_fix.md.j2")
    policy = "smoke"

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        return [f"scripts/smoke/{feature}.sh", f"plans/{feature}/validation.md"]

    def facts(self, ws: Workspace, feature: str, lock: FeatureLock) -> dict[str, str]:
        return {"deploy-stamp": stamp_hash(lock)}

    def optional(self, ws: Workspace, feature: str, lock: FeatureLock) -> bool:
        required = ws.config.steps.smoke.required
        if required != "auto":
            return required == "never"
        return not (has_checks(ws, feature) or deploy_files(ws.root, feature) or lock.deploy)

    def run(self, run: StepRun) -> Done:
        f, lock = run.feature, run.lock
        deploy = lock.deploy
        if not deploy:
            raise Waiting(f"devloop deployed {f}  (after you deploy {f}; then doit smoke:{f})")
        state = lock.smoke
        if state.get("failed_deploy") == deploy["id"] and run.forced_by != "monitor":
            raise Waiting(
                f"devloop deployed {f}  (after you redeploy: the smoke run against deploy #{deploy['id']} failed "
                f"and went back to {state.get('last_route')}; then doit smoke:{f})"
            )
        if "run_dir" not in run.scratch:
            run.scratch["run_dir"] = new_run_dir(run.ws, f)
        rundir = run.scratch["run_dir"]
        if "outcome" not in run.scratch:
            run.scratch["outcome"] = check_deploy(run.ws, f, deploy, Path(run.ws.root / rundir))
            run.save()
        outcome = run.scratch["outcome"]
        if outcome["fired"] and "rollback" not in run.scratch:
            run.scratch["rollback"] = rollback(run.ws, f, Path(run.ws.root / rundir), outcome["fired"])
            state["fired"] = {"deploy": deploy["id"], "triggers": outcome["fired"], "run": rundir}
            state["fired"]["rollback"] = run.scratch["rollback"]["summary"]
            run.save()
        log = f"{rundir}/smoke.log"
        if outcome["passed"] and not outcome["fired"]:
            state.update(round_trips=0, failed_deploy=None, passed_deploy=deploy["id"])
            return Done(log, [], {"result": "pass", "run": rundir, "deploy": deploy["id"], **outcome["counts"]})
        if "trip" not in run.scratch:
            run.scratch["trip"] = int(state.get("round_trips") or 0) + 1
        trips = run.scratch["trip"]
        cap = run.ws.config.steps.smoke.max_round_trips
        if trips > cap:
            subject = {log: hash_file(run.ws.root / log)}
            run.gate("smoke", subject, f"smoke still failing after {cap} round trips; read {log}", log)
            state.update(round_trips=0, failed_deploy=None)
            return Done(log, [], {"result": "accepted by a human", "run": rundir, "deploy": deploy["id"]})
        route, note = triage(run, rundir, outcome)
        step = apply_route(lock, route, note)
        state.update(round_trips=trips, failed_deploy=deploy["id"], last_route=step)
        if outcome["fired"]:
            why = f"rollback trigger {', '.join(outcome['fired'])} fired ({run.scratch['rollback']['summary']})"
        else:
            why = "smoke failed"
        raise StepFailed(
            f"{why} against deploy #{deploy['id']} (round trip {trips}/{cap}); triage routed to {route} ({note})",
            next=f"doit  (re-runs {step}:{f} as triage asked; then redeploy, devloop deployed {f}, doit smoke:{f})",
        )


def unsettled_failure(ws: Workspace, feature: str, kind: str, artifact: str = "") -> str | None:
    """Why ``doit smoke`` must fail although the step stopped as waiting or at a gate, or None.

    The smoke run against the recorded deploy failed (a FAIL or an ERROR, or
    a trigger fired) and nothing settled it: triage waits for a person (or
    the planner's validation fix does), the cap's gate waits for approval,
    or triage routed the loop back and nothing was redeployed since. Read
    from the lock the step just wrote; the checks are not run again.
    """
    lock = ws.read_lock_shared(feature)
    deploy = lock.deploy
    if not deploy:
        return None
    state = lock.smoke
    if state.get("failed_deploy") == deploy["id"]:
        return (
            f"the smoke run against deploy #{deploy['id']} failed and triage routed to "
            f"{state.get('last_route')}; nothing was redeployed since"
        )
    rec = lock.steps.get("smoke")
    scratch = rec.attempt.scratch if rec is not None and rec.attempt is not None else {}
    outcome = scratch.get("outcome")
    if not outcome or (outcome["passed"] and not outcome["fired"]):
        return None
    what = "rollback trigger fired" if outcome["fired"] else "smoke failed"
    log = f"{scratch.get('run_dir')}/smoke.log"
    cap = ws.config.steps.smoke.max_round_trips
    if kind == "gate":
        trips = f"{cap} round trip{'' if cap == 1 else 's'}"
        return f"{what} against deploy #{deploy['id']} ({log}) after {trips}; the smoke gate waits for approval"
    trip = scratch.get("trip")
    where = f"round trip {trip}/{cap}, {log}" if trip else log
    who = (
        "triage waits for a person"
        if artifact.endswith("triage.md")
        else "triage routed to validation; the fix of validation.md waits for a person"
    )
    return f"{what} against deploy #{deploy['id']} ({where}); {who}"


def tally(checks: list[Any], triggers: list[Any]) -> dict[str, int]:
    """Checks and triggers counted apart: a trigger that did not fire is not a passed check."""
    return {
        "checks": len(checks),
        "passed": sum(r.outcome == "PASS" for r in checks),
        "failed": sum(r.outcome == "FAIL" for r in checks),
        "errors": sum(r.outcome == "ERROR" for r in [*checks, *triggers]),
        "triggers": len(triggers),
        "fired": sum(r.outcome == "FAIL" for r in triggers),
    }


def describe_counts(c: dict[str, Any]) -> str:
    """``checks 2/3 passed (1 failed); triggers 0/2 fired; 1 error`` from a tally (older ones too)."""
    checks = f"checks {c.get('passed', c.get('checks', 0) - c.get('failed', 0))}/{c.get('checks', 0)} passed"
    if c.get("failed"):
        checks += f" ({c['failed']} failed)"
    triggers = (
        f"triggers {c.get('fired', 0)}/{c['triggers']} fired" if "triggers" in c else f"{c.get('fired', 0)} fired"
    )
    errors = c.get("errors", 0)
    return f"{checks}; {triggers}; {errors} error{'' if errors == 1 else 's'}"


def check_deploy(ws: Workspace, feature: str, deploy: dict[str, Any], rundir: Path) -> dict[str, Any]:
    """Run the smoke script, the checks and the triggers once; write smoke.log and result.json."""
    from devloop.after_deploy.checks.runner import evaluate_triggers, run_checks  # lazy: loads jinja2

    lines = [f"# smoke {feature}: deploy #{deploy['id']} version {deploy.get('version')} at {deploy.get('at')}"]
    script = _script(ws, feature, rundir, lines)
    checks: list[Any] = []
    triggers: list[Any] = []
    try:
        block = parse_check_block(
            read_text(ws, f"plans/{feature}/validation.md"), f"plans/{feature}/validation.md", block_cache(ws, feature)
        )
    except DevloopError as exc:
        block = None
        lines.append(f"ERROR check block: {exc}")
        script["passed"] = False
    if block is not None:
        ctx = check_context(ws, feature, deploy, _now())
        checks = run_checks(block.smoke, ctx)
        triggers = evaluate_triggers(block.rollback_triggers, ctx, ctx.now)
        lines += [r.line() for r in checks] + [r.line() for r in triggers]
    fired = [r.name for r in triggers if r.outcome == "FAIL"]
    errors = [r for r in [*checks, *triggers] if r.outcome == "ERROR"]
    passed = script["passed"] and all(r.outcome == "PASS" for r in checks) and not errors
    counts = tally(checks, triggers)
    lines.append(f"# result: {'PASS' if passed and not fired else 'FAIL'}: {describe_counts(counts)}")
    atomic_write_text(rundir / "smoke.log", redact("\n".join(lines) + "\n"))
    result = {
        "feature": feature,
        "deploy": deploy,
        "passed": passed and not fired,
        "script": script,
        "checks": [r.as_dict() for r in checks],
        "triggers": [r.as_dict() for r in triggers],
        "counts": counts,
    }
    atomic_write_text(rundir / "result.json", redact(json.dumps(result, indent=2, default=str)))
    return {"passed": passed, "fired": fired, "counts": counts}


def block_cache(ws: Workspace, feature: str) -> Path | None:
    """Where the feature's loaded check block is kept as JSON (None before ``.devloop/`` exists)."""
    return ws.state / "cache" / "checks" / f"{feature}.json" if ws.state.is_dir() else None


def check_context(ws: Workspace, feature: str, deploy: dict[str, Any], now: Any) -> Any:
    """Where, when and with which allowances (environment, http methods) the feature's checks run."""
    from devloop.after_deploy.checks.base import CheckContext  # lazy: loads jinja2

    return CheckContext(
        ws.root,
        ws.config.gcp,
        feature,
        deploy.get("version"),
        deploy.get("at"),
        now,
        env_allow=tuple(ws.config.steps.smoke.env_allow),
        http_methods=tuple(ws.config.checks.http_methods),
        confine=lambda: watch.for_workspace(ws, for_judge(ws.root), ws.history_dir(feature)),
    )


def _script(ws: Workspace, feature: str, rundir: Path, lines: list[str]) -> dict[str, Any]:
    path = ws.root / "scripts" / "smoke" / f"{feature}.sh"
    if not path.is_file():
        lines.append(f"FAIL smoke script scripts/smoke/{feature}.sh does not exist")
        return {"passed": False, "exit_code": None}
    env = allow_listed(ws.config.steps.smoke.env_allow, {"DEVLOOP_FEATURE": feature})
    timeout = ws.config.steps.smoke.script_timeout
    try:
        box = watch.for_workspace(ws, for_judge(ws.root), ws.history_dir(feature))
        done, seen = watch.run(box, [str(path)], ws.root, env, timeout)
    except (OSError, watch.SandboxUnavailable) as exc:
        lines.append(f"ERROR smoke script cannot start: {exc}")
        return {"passed": False, "exit_code": None}
    if seen.refused:
        lines.append(f"FAIL {seen.why(f'smoke script scripts/smoke/{feature}.sh')}")
        return {"passed": False, "exit_code": None}
    rundir.mkdir(parents=True, exist_ok=True)
    code = None if done.timed_out else done.returncode
    verdict = "PASS" if code == 0 else ("ERROR" if done.timed_out else "FAIL")
    lines.append(f"{verdict} smoke script scripts/smoke/{feature}.sh | exit {code} | {done.duration_s:.2f}s")
    for name, data in (("stdout", done.stdout), ("stderr", done.stderr)):
        text = data.decode("utf-8", errors="replace").rstrip()
        if text:
            lines += [f"--- script {name}", *text.splitlines()[-200:]]
    return {"passed": code == 0, "exit_code": code}


def rollback(ws: Workspace, feature: str, rundir: Path, fired: list[str]) -> dict[str, Any]:
    """Run the configured rollback command first (never one from an agent), logging to rollback.log.

    Returns what happened, also when nothing could run: a trigger that fired
    is recorded whether or not a rollback is configured, and never hidden.
    """
    cfg = commands(ws, feature)
    log = rundir / "rollback.log"
    append_bytes(log, f"# triggers fired: {', '.join(fired)}\n".encode())
    if not cfg.rollback:
        append_bytes(log, b"# no rollback command configured (deploy.rollback): nothing was rolled back\n")
        out = {"configured": False, "ran": False, "ok": False, "summary": "no rollback configured, nothing rolled back"}
    else:
        try:
            run_configured(ws, feature, cfg.rollback, "rollback", log, cfg.timeout)
            out = {"configured": True, "ran": True, "ok": True, "summary": "rollback ran"}
        except DevloopError as exc:
            out = {"configured": True, "ran": True, "ok": False, "summary": f"rollback FAILED: {exc}"}
    _note_result(rundir, rollback=out, fired=fired)
    return out


def _note_result(rundir: Path, **fields: Any) -> None:
    """Add fields to the run's result.json (written by the smoke run, or started here by monitoring)."""
    path = rundir / "result.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data.update(fields)
    atomic_write_text(path, json.dumps(data, indent=2, default=str))


def triage(run: StepRun, rundir: str, outcome: dict[str, Any]) -> tuple[str, str]:
    """Ask the triage agent for a route; for ``validation`` the planner fixes validation.md right away."""
    ws, f = run.ws, run.feature
    note = f"{rundir}/triage.md"

    base = run.lock.data("implement").get("base_commit")
    prompt = render(
        ws,
        "triage.md.j2",
        feature=f,
        smoke_log=read_text(ws, f"{rundir}/smoke.log"),
        plan=read_text(ws, f"plans/{f}/plan.md"),
        validation=read_text(ws, f"plans/{f}/validation.md"),
        diff=git_diff(ws, base, f, run.lock),
        fired=outcome["fired"],
    )
    verdict = run.ask("triage", "triage", prompt, note, parse_route)
    route = verdict["verdict"]
    if route == "validation":
        validation = f"plans/{f}/validation.md"
        fix = render(ws, "validation_fix.md.j2", feature=f, triage=read_text(ws, note), validation_path=validation)
        run.author("validation-fix", "planner", fix, [validation], revise=True, scope=lambda p: p == validation)
        run.accept_upstream("plan_review", [validation])
        run.accept_upstream("red_team", [validation])
        problem = block_problem(ws, validation)
        if problem:
            raise run.rejected("validation-fix", problem, [validation])
    return route, note


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
