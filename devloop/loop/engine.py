"""Decide whether a step is up to date, and run it when it is not.

Both ``doit`` (through the task uptodate callables and actions in
``devloop.loop.tasks``) and the CLI (``status``, ``why``, ``approve``) go through
here, so there is one answer to "is this step fresh, and why not?". The
record transitions themselves are methods of :mod:`devloop.provenance.state`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from typing import Any

from devloop.after_deploy.gcpdetect import deploy_tree
from devloop.config.workspace import CONFIG_FILE, Workspace
from devloop.loop.advice import next_action
from devloop.loop.targets import artifacts
from devloop.provenance import LOCK_NAME, lockfile
from devloop.provenance.hashing import hash_file, hash_json, hash_output
from devloop.provenance.lockfile import now_iso
from devloop.provenance.staleness import Current, Status, assess
from devloop.provenance.state import GATE, RUNNING, FeatureLock, Force, Gate, GateError, StepRecord, bounded
from devloop.runtime import wslock
from devloop.runtime.atomic import archive, remove
from devloop.runtime.envs import BASE_ENV
from devloop.runtime.errors import DevloopError, StepFailed, UsageError
from devloop.runtime.redact import redact
from devloop.runtime.words import count
from devloop.steps import answer_cache
from devloop.steps.base import GateStop, Waiting
from devloop.steps.change import resting_on as change_deps
from devloop.steps.person import forget_walks
from devloop.steps.prompts import template_hash
from devloop.steps.registry import STEPS, next_step, upstream_of
from devloop.steps.run import StepRun


@dataclass
class Outcome:
    """What happened when doit ran one step; the reporter prints it."""

    # done, changed (done, but an input moved while it ran), adopted, uptodate, waiting, gate, failed, blocked, refused
    kind: str
    feature: str
    step: str
    artifact: str = ""
    next: str = ""
    detail: str = ""
    calls: int = 0
    restored: int = 0  # calls answered from the answer cache

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


def setup_key(ws: Workspace) -> str:
    """What agents' setup is made of: devloop.yaml and the environment variables it lets agents read.

    A step that failed for its agents' setup (no key, a refused key, an unknown model, a missing
    program) is not asked again until this changes. Values are hashed together, never stored.
    """

    names = set(BASE_ENV) | set(ws.config.env_allow)
    for agent in ws.config.agents.values():
        names.update(getattr(agent, "env_allow", None) or ())
        if getattr(agent, "api_key_env", None):
            names.add(agent.api_key_env)
    try:
        text = (ws.root / CONFIG_FILE).read_bytes()
    except OSError:
        text = b""
    env = {n: os.environ.get(n) for n in sorted(names)}
    return hash_json({"devloop.yaml": text.decode("utf-8", "replace"), "env": env})


def current(
    ws: Workspace, feature: str, step_name: str, lock: FeatureLock, outputs: list[str] | None = None
) -> Current:
    """The hashes the step would run with now; ``outputs`` overrides the recorded ones."""

    step = STEPS[step_name]
    rec = lock.record(step_name)
    if outputs is None:
        outputs = list(rec.outputs if rec and rec.outputs else step.declared_outputs(ws, feature))
    root = f"{ws.root}/"
    return Current(
        inputs={**{p: hash_file(root + p) for p in step.inputs(ws, feature, lock)}, **step.facts(ws, feature, lock)},
        template=template_hash(ws, step.templates),
        config=config_fingerprint(ws, step_name),
        outputs={p: hash_output(root, p) for p in outputs},
    )


def subject_now(ws: Workspace, stamp: Gate) -> dict[str, str]:
    root = f"{ws.root}/"
    return {p: hash_file(root + p) for p in stamp.subject}


def gate_view(ws: Workspace, lock: FeatureLock, step_name: str, cur: Current) -> tuple[str, str] | None:
    """For a step stopped at a gate: (gate, why it cannot be approved now), the reason empty when it can."""
    rec = lock.record(step_name)
    found = lock.pending_gate(step_name)
    if rec is None or rec.state != GATE or found is None:
        return None
    gate, stamp = found
    if rec.force is not None:
        return gate, f"{step_name}:{lock.feature} is forced to re-run"
    if rec.attempt is None or not rec.attempt.matches(cur.inputs):
        return gate, f"an input of {step_name}:{lock.feature} changed since the gate opened"
    now = subject_now(ws, stamp)
    changed = [p for p, h in stamp.subject.items() if now.get(p) != h]
    if changed:
        return gate, f"{', '.join(changed)} changed since the gate opened"
    return gate, ""


def step_status(ws: Workspace, feature: str, step_name: str, lock: FeatureLock | None = None) -> Status:
    """Own status of one step (not looking upstream); reads the lock unless given it."""
    lock = lock if lock is not None else ws.read_lock_shared(feature)
    cur = current(ws, feature, step_name, lock)
    st = assess(lock.record(step_name), cur, lock.registry_for(step_name))
    if st.state == "gate":
        view = gate_view(ws, lock, step_name, cur)
        if view is None:
            approved = [g for g, s in lock.gates.items() if s.step == step_name and not s.pending]
            why = f"gate {approved[0]} approved" if approved else "the gate is no longer waiting"
            return Status("stale", [f"{why}; the next doit continues the step"])
        gate, problem = view
        if problem:
            return Status("stale", [f"{problem}; the next doit re-runs the step and opens gate {gate} again if needed"])
        return Status("gate", [*st.reasons, f"approve with: devloop approve {feature} {gate}"])
    if st.state == "interrupted" and (lock.record(step_name) or StepRecord()).state == RUNNING and _run_alive(ws):
        return Status("running", ["another run is working on it now"])
    return st


def _run_alive(ws: Workspace) -> bool:
    pid = wslock.holder(ws.state)
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def resting_on(ws: Workspace, feature: str, step_name: str, lock: FeatureLock) -> list[str] | None:
    """Every file and folder the step's settled status rests on, for the verdict memo; None when stats cannot tell.

    The lock, its inputs, its outputs and doit targets, and what decides
    which files are its inputs: the feature's deploy folder, and for the
    change set git's ignore rules and index. devloop.yaml and the templates
    are in the memo's stamp (:func:`devloop.provenance.verdicts.stamp_of`).
    """

    step = STEPS[step_name]
    rec = lock.record(step_name)
    deps = [f"plans/{feature}/{LOCK_NAME}", *step.inputs(ws, feature, lock)]
    deps += rec.outputs if rec is not None and rec.outputs else step.declared_outputs(ws, feature)
    deps += artifacts(ws, feature).get(step_name, [])
    if step_name == "code_review":
        more = change_deps(ws, feature, lock)
        if more is None:
            return None
        deps += more
    if step_name == "deploy_review":
        deps += deploy_tree(ws.root, feature)
    return deps


def judged(ws: Workspace, feature: str, step_name: str) -> Status:
    """``step_status``, given from the verdict memo while nothing it rests on changed; a settled one is kept."""
    memo = ws.verdicts
    key = f"{feature}:{step_name}"
    hit = memo.get(key)
    if hit is not None:
        return Status(hit[0], list(hit[1]))
    lock = ws.read_lock_shared(feature)
    st = step_status(ws, feature, step_name, lock)
    if st.fresh and memo.keeps:
        deps = resting_on(ws, feature, step_name, lock)
        if deps is not None:
            memo.record(key, [st.state, st.reasons], deps)
    return st


RESTORED = "restored from cache"  # the reason a fresh step gives when its answers were restored, not asked


def with_restores(steps: dict[str, Status], lock: FeatureLock) -> dict[str, Status]:
    """``steps`` with a reason on each up-to-date step whose last run restored answers from the answer cache."""
    for name, st in steps.items():
        rec = lock.record(name)
        if st.fresh and rec is not None and rec.data.get("restored"):
            st.reasons = [*st.reasons, f"{RESTORED}: {count(int(rec.data['restored']), 'answer')}"]
    return steps


def feature_view(ws: Workspace, feature: str) -> tuple[dict[str, Status], str]:
    """What ``devloop status`` shows of a feature, judged now: every step's status and the next command.

    Kept in the verdict memo (``<feature>:status``, read by the status view)
    unless a step is running or was interrupted: that depends on processes,
    not files.
    """

    memo = ws.views
    key = f"{feature}:status"
    lock = ws.read_lock_shared(feature)
    steps = with_restores(feature_status(ws, feature, lock), lock)
    nxt = next_action(ws, feature, steps, lock)
    if memo.keeps and all(st.state not in ("running", "interrupted") for st in steps.values()):
        deps = [f"plans/{feature}/validation.md", *deploy_tree(ws.root, feature)]
        deps += [p for stamp in lock.gates.values() for p in stamp.subject]
        for name in STEPS:
            more = resting_on(ws, feature, name, lock)
            if more is None:
                break
            deps += more
        else:
            memo.record(key, [{s: [st.state, st.reasons] for s, st in steps.items()}, nxt], deps)
    return steps, nxt


def feature_status(ws: Workspace, feature: str, lock: FeatureLock | None = None) -> dict[str, Status]:
    """Every step's own status, plus ``blocked`` for steps behind an unfinished one."""
    lock = lock if lock is not None else ws.read_lock_shared(feature)
    out: dict[str, Status] = {}
    behind: str | None = None
    for name in STEPS:
        st = step_status(ws, feature, name, lock)
        if behind and st.state in ("fresh", "drifted", "new"):
            st = Status("blocked", [f"waits for {behind}"])
        out[name] = st
        if not st.fresh and behind is None and not STEPS[name].optional(ws, feature, lock):
            behind = name
    return out


def execute(ws: Workspace, feature: str, step_name: str) -> Outcome:
    """Bring one step of one feature up to date. Never raises for agent trouble."""
    try:
        return _execute(ws, feature, step_name)
    finally:
        lockfile.flush_copies()  # the lock's JSON copy, once per step (a forked worker never runs exit hooks)


def _execute(ws: Workspace, feature: str, step_name: str) -> Outcome:
    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    blocked = _blocked(ws, feature, step_name, lock)
    if blocked is not None:
        return blocked
    cur = current(ws, feature, step_name, lock)
    st = assess(lock.record(step_name), cur, lock.registry_for(step_name))
    if st.fresh:
        return Outcome("uptodate", feature, step_name, next=next_hint(feature, step_name, ws, lock))
    if st.state == "edited":
        return _adopt(ws, feature, step_name, lock, cur, st)
    if st.state == "gate":
        view = gate_view(ws, lock, step_name, cur)
        if view is not None and not view[1]:  # still waiting for exactly this decision: nothing to re-run
            gate, stamp = view[0], lock.gates[view[0]]
            nxt = f"devloop approve {feature} {gate}  ({stamp.detail})"
            return Outcome("gate", feature, step_name, artifact=_gate_artifact(stamp), next=nxt)
    return _run(ws, feature, step_name, lock, cur)


def _gate_artifact(stamp: Gate) -> str:
    return ", ".join(sorted(stamp.subject)) or "(none)"


def _blocked(ws: Workspace, feature: str, step_name: str, lock: FeatureLock) -> Outcome | None:
    """An upstream step is not up to date: say what to run instead (smoke refuses; nothing is called)."""
    for up in upstream_of(step_name):
        st = step_status(ws, feature, up, lock)
        if st.fresh or STEPS[up].optional(ws, feature, lock):
            continue
        why = "; ".join(st.reasons)
        if up == "smoke":
            return Outcome("blocked", feature, step_name, next=smoke_hint(feature))
        kind = "refused" if step_name == "smoke" else "blocked"
        detail = f"{up}:{feature} is {st.state} ({why})" if kind == "refused" else ""
        return Outcome(kind, feature, step_name, detail=detail, next=f"doit {up}:{feature}  ({why})")
    return None


def _since(iso: str) -> float:
    """Seconds from an ISO time in the lock until now; 0 when it cannot be read."""
    import datetime as dt

    try:
        then = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    return max(0.0, (dt.datetime.now(dt.UTC) - then).total_seconds())


def smoke_hint(feature: str) -> str:
    return f"devloop deployed {feature}  (after you deploy {feature}; then doit smoke:{feature})"


def next_hint(feature: str, step_name: str, ws: Workspace | None = None, lock: FeatureLock | None = None) -> str:
    """What to run after ``step_name``; before smoke, evaluation is offered only when smoke may be skipped."""
    nxt = next_step(step_name)
    if nxt == "smoke":
        if ws is not None and lock is not None and not STEPS["smoke"].optional(ws, feature, lock):
            return smoke_hint(feature)  # validation.md has checks (or a deploy is recorded): evaluate waits for smoke
        return f"{smoke_hint(feature)[:-1]}; with nothing to deploy, doit evaluate:{feature})"
    return f"doit {nxt}:{feature}" if nxt else f"nothing  ({feature} has been through the whole loop)"


def _adopt(ws: Workspace, feature: str, step_name: str, lock: FeatureLock, cur: Current, st: Status) -> Outcome:
    """A hand edit wins: record the edited outputs as the step's result, call no agent.

    Unless the step refuses what it would adopt (validation.md's check block
    must hold): then nothing is recorded, and the next run looks again.
    """
    if problem := STEPS[step_name].vet(ws, feature):
        nxt = f"fix {', '.join(st.edited)} ({problem}), then doit"
        return Outcome("failed", feature, step_name, detail=bounded(problem), next=nxt)
    for p in st.edited:
        lock.artifacts[p] = {"sha256": cur.outputs[p], "step": step_name, "edited": True, "at": now_iso()}
    lock.step(step_name).adopt(st.edited, cur)
    ws.write_lock(feature, lock)
    return Outcome(
        "adopted",
        feature,
        step_name,
        artifact=", ".join(st.edited) + " (edited by hand, adopted)",
        next=next_hint(feature, step_name, ws, lock),
    )


def _run(ws: Workspace, feature: str, step_name: str, lock: FeatureLock, cur: Current) -> Outcome:
    step = STEPS[step_name]
    ws.config  # noqa: B018 - validate the full config before any agent call
    rec = lock.step(step_name)
    if rec.force is not None:
        for p in rec.outputs:
            archive(ws.root, ws.root / p, ws.history_dir(feature), "redo")
    resumable = rec.attempt is not None and rec.attempt.matches(cur.inputs)
    before = rec.attempt
    if rec.force is None and resumable and before is not None and before.blocked:
        if before.blocked.get("setup") == setup_key(ws):
            detail = f"{rec.detail or 'failed'} (not asked again: devloop.yaml and the environment are unchanged)"
            return Outcome(
                "failed", feature, step_name, detail=bounded(detail), next=f"{before.blocked['fix']}, then doit"
            )
        before.blocked = {}
    prior = list(rec.outputs)
    attempt = rec.start(cur.inputs, resumable, now_iso())
    resumed = before is not None and attempt is before
    pinned = None
    if not resumed:
        forget_walks(ws, feature, step_name)
        pinned = answer_cache.pin_rounds(ws, feature, step_name, lock, cur, attempt)
    ws.write_lock(feature, lock)  # a run killed from here on reads as interrupted, and resumes
    run = StepRun(ws, feature, step, lock, rec)
    started = time.monotonic()
    try:
        done = step.run(run)
    except Waiting as w:
        _stop(ws, run, rec.wait, f"waiting: {w.detail}")
        nxt = f"{w.detail}, then doit" if w.detail.startswith(("write ", "revise ")) else w.detail
        return Outcome("waiting", feature, step_name, artifact=w.artifact, next=nxt, calls=run.calls)
    except GateStop as g:
        _stop(ws, run, rec.at_gate, f"gate {g.gate}: {g.detail}")
        nxt = f"devloop approve {feature} {g.gate}  ({g.detail})"
        return Outcome("gate", feature, step_name, artifact=g.artifact, next=nxt, calls=run.calls)
    except StepFailed as f:
        if f.fix:
            run.attempt.blocked = {"fix": redact(f.fix), "setup": setup_key(ws)}
        _stop(ws, run, rec.fail, str(f))
        nxt = f.next or (
            f"{run.attempt.blocked['fix']}, then doit"
            if f.fix
            else "doit  (asks again, with what was wrong)"
            if f.retry
            else "doit  (after fixing the cause above)"
        )
        return Outcome("failed", feature, step_name, detail=bounded(str(f)), next=nxt, calls=run.calls)
    except DevloopError as e:
        _stop(ws, run, rec.fail, str(e))
        raise
    except KeyboardInterrupt:
        call = run.current_call or "-"
        _stop(ws, run, rec.interrupt, f"interrupted during call {call}; the next doit resumes")
        raise
    lock.drop_pending(step_name)
    rec.count_calls(run.calls)
    final = current(ws, feature, step_name, lock, outputs=done.outputs)
    facts = frozenset(step.facts(ws, feature, lock))
    given = rec.attempt.ran_with(final.inputs, facts) if rec.attempt else dict(final.inputs)
    moved = sorted(p for p in set(given) | set(final.inputs) if given.get(p) != final.inputs.get(p))
    wall = time.monotonic() - started
    if resumed and rec.attempt is not None:  # it waited (for a person, say) across runs: wall time counts that
        wall = max(wall, _since(rec.attempt.started))
    timing = {
        "agent_seconds": round(run.agent_seconds, 3),
        "person_seconds": round(run.person_seconds, 3),
        "duration_s": round(wall, 3),
        "finished": now_iso(),
    }
    data = {**done.data, "restored": run.restored} if run.restored else done.data
    if pinned is not None:
        answer_cache.keep_rounds(ws, pinned, step_name, run.scratch.get("first_round"))
        if pinned.hit:  # the earlier run's outputs are back: what the run in between left is archived
            _set_aside(ws, feature, step_name, lock, [p for p in prior if p not in done.outputs])
    rec.finish(outputs=done.outputs, data=data, note=done.note, current=replace(final, inputs=given), timing=timing)
    ws.write_lock(feature, lock)
    if moved:
        what = f"{_names(moved)} changed while {step_name}:{feature} ran"
        return Outcome(
            "changed",
            feature,
            step_name,
            artifact=done.artifact,
            next=f"doit  ({step_name}:{feature} runs again: {what})",
            detail=f"{what}; its record keeps what it read",
            calls=run.calls,
            restored=run.restored,
        )
    return Outcome(
        "done",
        feature,
        step_name,
        artifact=done.artifact,
        next=next_hint(feature, step_name, ws, lock),
        detail=done.note,
        calls=run.calls,
        restored=run.restored,
    )


def _set_aside(ws: Workspace, feature: str, step_name: str, lock: FeatureLock, paths: list[str]) -> None:
    """Archive, then remove, outputs of this step's previous record that its new run did not make."""
    for p in paths:
        owner = lock.artifacts.get(p, {}).get("step") if isinstance(lock.artifacts.get(p), dict) else None
        path = ws.root / p
        if owner not in (None, step_name) or not path.is_file():
            continue
        archive(ws.root, path, ws.history_dir(feature), step_name)
        remove(path)
        lock.artifacts.pop(p, None)


def _names(paths: list[str], shown: int = 3) -> str:
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")


def _stop(ws: Workspace, run: Any, transition: Any, detail: str) -> None:
    run.record.count_calls(run.calls)
    transition(redact(detail))
    ws.write_lock(run.feature, run.lock)


def force(
    ws: Workspace, feature: str, step_name: str, by: str, reason: str, seed: dict[str, Any] | None = None
) -> None:
    """Ask for one new attempt of a step on the next doit (its outputs are archived then).

    ``seed`` starts the attempt's scratch (``{"fresh": True}``: implement forgets earlier implementations).
    """

    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    lock.step(step_name).request_force(Force(by=by, reason=reason, at=now_iso(), seed=dict(seed or {})))
    ws.write_lock(feature, lock)


def drifted(ws: Workspace, feature: str) -> list[str]:
    """The steps of a feature whose agents, template or policy changed since they finished."""
    return [s for s, st in feature_status(ws, feature).items() if st.state == "drifted"]


def approve(ws: Workspace, feature: str, gate: str, by: str) -> Gate:
    """Stamp a waiting gate as approved, only when what it shows is still what the step would pass."""

    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    stamp = lock.gates.get(gate)
    if stamp is not None and stamp.pending:
        view = gate_view(ws, lock, stamp.step, current(ws, feature, stamp.step, lock))
        if view is None or view[1]:
            why = view[1] if view else f"{stamp.step}:{feature} is no longer at this gate"
            raise UsageError(f"{why}; run doit first (it opens gate {gate} again if it is still needed)")
    try:
        approved = lock.approve(gate, subject_now(ws, stamp) if stamp else {}, by, now_iso())
    except GateError as exc:
        raise UsageError(str(exc)) from None
    ws.write_lock(feature, lock)
    return approved
