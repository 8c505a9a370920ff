"""Decide whether a step is up to date, and run it when it is not.

Both ``doit`` (through the task uptodate callables and actions in
``devloop.tasks``) and the CLI (``status``, ``why``) go through here, so there
is one answer to "is this step fresh, and why not?".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from devloop.errors import DevloopError, StepFailed
from devloop.provenance.hashing import hash_file, hash_json
from devloop.provenance.lockfile import now_iso
from devloop.provenance.staleness import DONE, FAILED, GATE, WAITING, Current, Status, assess
from devloop.steps.registry import STEPS, next_step, upstream_of
from devloop.workspace import Workspace


@dataclass
class Outcome:
    """What happened when doit ran one step; the reporter prints it."""

    kind: str  # done, adopted, uptodate, waiting, gate, failed, blocked
    feature: str
    step: str
    artifact: str = ""
    next: str = ""
    detail: str = ""
    calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def config_fingerprint(ws: Workspace, step_name: str) -> str:
    """Hash of the agent configs of the step's roles and of its policy."""
    cached = ws.memo.get(("config", step_name))
    if cached is not None:
        return cached
    step = STEPS[step_name]
    view = ws.config_view
    roles: dict[str, Any] = {}
    for role in step.roles:
        names = view["roles"][role]
        names = names if isinstance(names, list) else [names]
        roles[role] = [{"name": n, **view["agents"][n]} for n in names]
    policy = view["steps"].get(step.policy) if step.policy else None
    ws.memo[("config", step_name)] = sha = hash_json({"roles": roles, "policy": policy})
    return sha


def current(ws: Workspace, feature: str, step_name: str, lock: dict[str, Any]) -> Current:
    from devloop.prompts import template_hash

    step = STEPS[step_name]
    record = lock["steps"].get(step_name) or {}
    outputs = list(record.get("outputs") or step.declared_outputs(ws, feature))
    root = f"{ws.root}/"
    return Current(
        inputs={**{p: hash_file(root + p) for p in step.inputs(ws, feature, lock)}, **step.facts(ws, feature, lock)},
        template=template_hash(ws, step.templates),
        config=config_fingerprint(ws, step_name),
        outputs={p: hash_file(root + p) for p in outputs},
    )


def step_status(ws: Workspace, feature: str, step_name: str, lock: dict[str, Any] | None = None) -> Status:
    """Own status of one step (not looking upstream); reads the lock unless given it."""
    lock = lock if lock is not None else ws.read_lock_shared(feature)
    return assess(lock["steps"].get(step_name), current(ws, feature, step_name, lock), lock["artifacts"])


def feature_status(ws: Workspace, feature: str) -> dict[str, Status]:
    """Every step's own status, plus ``blocked`` for steps behind an unfinished one."""
    lock = ws.read_lock(feature)
    out: dict[str, Status] = {}
    behind: str | None = None
    for name in STEPS:
        st = step_status(ws, feature, name, lock)
        if behind and st.fresh:
            st = Status("blocked", [f"waits for {behind}"])
        elif behind and st.state == "new":
            st = Status("blocked", [f"waits for {behind}"])
        out[name] = st
        if not st.fresh and behind is None and not STEPS[name].optional(ws, feature, lock):
            behind = name
    return out


def execute(ws: Workspace, feature: str, step_name: str) -> Outcome:
    """Bring one step of one feature up to date. Never raises for agent trouble."""
    from devloop import wslock

    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    for up in upstream_of(step_name):
        st = step_status(ws, feature, up, lock)
        if not st.fresh and not STEPS[up].optional(ws, feature, lock):
            why = "; ".join(st.reasons)
            hint = f"{up}:{feature} first ({why}); then doit"
            if up == "smoke":
                hint = f"a passing smoke run: {AFTER_REVIEW.format(f=feature)}"
            return Outcome("blocked", feature, step_name, next=hint)
    cur = current(ws, feature, step_name, lock)
    record = lock["steps"].get(step_name)
    st = assess(record, cur, lock["artifacts"])
    if st.fresh:
        return Outcome("uptodate", feature, step_name, next=_next_hint(feature, step_name))
    if st.state == "edited":
        return _adopt(ws, feature, step_name, lock, cur, st)
    return _run(ws, feature, step_name, lock, cur)


def _next_hint(feature: str, step_name: str) -> str:
    nxt = next_step(step_name)
    if nxt == "smoke":
        return f"{AFTER_REVIEW.format(f=feature)} (or, with nothing to deploy, evaluate:{feature})"
    return f"{nxt}:{feature}" if nxt else f"{feature} has been through the whole loop"


AFTER_REVIEW = "deploy {f}, record it with devloop deployed {f}, then doit smoke:{f}"


def _adopt(ws: Workspace, feature: str, step_name: str, lock: dict[str, Any], cur: Current, st: Status) -> Outcome:
    """A hand edit wins: record the edited outputs as the step's result, call no agent."""
    for p in st.edited:
        lock["artifacts"][p] = {"sha256": cur.outputs[p], "step": step_name, "edited": True, "at": now_iso()}
    record = lock["steps"][step_name]
    record.update(inputs=cur.inputs, template=cur.template, config=cur.config, state=DONE, adopted=sorted(st.edited))
    ws.write_lock(feature, lock)
    return Outcome(
        "adopted",
        feature,
        step_name,
        artifact=", ".join(st.edited) + " (edited by hand, adopted)",
        next=_next_hint(feature, step_name),
    )


def _run(ws: Workspace, feature: str, step_name: str, lock: dict[str, Any], cur: Current) -> Outcome:
    from devloop.steps.base import GateStop, Waiting
    from devloop.steps.run import StepRun

    step = STEPS[step_name]
    ws.config  # noqa: B018 - validate the full config before any agent call
    record = lock["steps"].setdefault(step_name, {})
    if record.get("force"):
        for p in record.get("outputs") or []:
            from devloop.atomic import archive

            archive(ws.root, ws.root / p, ws.history_dir(feature), "redo")
        record.pop("journal", None)
    run = StepRun(ws, feature, step, lock, cur.inputs)
    started = time.monotonic()
    try:
        done = step.run(run)
    except Waiting as w:
        _finish(ws, feature, run, WAITING, f"waiting: {w.detail}")
        return Outcome("waiting", feature, step_name, artifact=w.artifact, next=w.detail, calls=run.calls)
    except GateStop as g:
        _finish(ws, feature, run, GATE, f"gate {g.gate}: {g.detail}")
        nxt = f"devloop approve {feature} {g.gate}  ({g.detail})"
        return Outcome("gate", feature, step_name, artifact=g.artifact, next=nxt, calls=run.calls)
    except StepFailed as f:
        _finish(ws, feature, run, FAILED, str(f))
        return Outcome(
            "failed", feature, step_name, detail=str(f), next="fix the cause above, then run doit", calls=run.calls
        )
    except DevloopError as e:
        _finish(ws, feature, run, FAILED, str(e))
        raise
    record = lock["steps"][step_name]
    for gate, stamp in list(lock["gates"].items()):
        if stamp.get("pending") and stamp.get("step") == step_name:
            del lock["gates"][gate]  # this run finished without needing that decision
    (lock.get("context") or {}).pop(step_name, None)  # a triage note is consumed once the step re-ran
    record.pop("journal", None)
    record.pop("force", None)
    record.pop("adopted", None)
    record["outputs"] = sorted(set(done.outputs))
    final = current(ws, feature, step_name, lock)
    record.update(
        state=DONE,
        detail=done.note or None,
        inputs=final.inputs,
        template=final.template,
        config=final.config,
        data=done.data,
        calls=run.calls + int(record.get("calls_before", 0) or 0),
        agent_seconds=round(run.agent_seconds, 3),
        duration_s=round(time.monotonic() - started, 3),
        finished=now_iso(),
    )
    record.pop("calls_before", None)
    ws.write_lock(feature, lock)
    return Outcome(
        "done",
        feature,
        step_name,
        artifact=done.artifact,
        next=_next_hint(feature, step_name),
        detail=done.note,
        calls=run.calls,
    )


def _finish(ws: Workspace, feature: str, run: Any, state: str, detail: str) -> None:
    rec = run.record
    rec["state"] = state
    rec["detail"] = detail
    rec["calls_before"] = int(rec.get("calls_before", 0) or 0) + run.calls
    ws.write_lock(feature, run.lock)


def redo(ws: Workspace, feature: str, step_name: str) -> None:
    """Mark a step to be regenerated by the next doit (its outputs are archived first)."""
    from devloop import wslock

    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    lock["steps"].setdefault(step_name, {})["force"] = True
    ws.write_lock(feature, lock)
