"""The loop's state, owned here: typed lock records and every transition of a step and a gate.

No other module writes a step's ``state``, its ``force`` request, its attempt
(the journal of finished calls) or a gate stamp: steps, the engine and the
commands call the methods below, and the lock file is only their serialised
form. Everything here is pure (no I/O); callers hash files and pass the hashes.

One step of one feature::

                 force (devloop redo, a triage route, a fired trigger): from any state;
                 the next run archives the outputs and opens exactly ONE new attempt
                                     │
      new ──start──▶ running ◀───────┴─────────────────────────────────────────┐
                      │  │  │  │                                                │
                      │  │  │  └─interrupt──▶ interrupted ──start (resume)──────┤
                      │  │  └─fail──▶ failed ──start: rejected calls are asked ─┤
                      │  │              again with what was wrong               │
                      │  └─wait──▶ waiting ──start (resume; the answer is used)─┤
                      └─at_gate──▶ gate ──approve, then start (resume)──────────┘
                      │
                      └─finish──▶ done ─┬─ content upstream changed ──▶ stale (re-runs)
                                        ├─ agents/template/policy changed ──▶ drifted
                                        │  (shown; re-run only by devloop redo)
                                        └─ an output edited by hand ──▶ adopt ──▶ done

An *attempt* is one try at bringing a step up to date. It survives waits,
gates, failures and interrupts (so a finished answer is never asked for
again) and ends when the step is done or when a force opens a new one.

A gate stamp is ``pending`` when a step stops at it and ``approved`` only
through :meth:`FeatureLock.approve`, which the ``devloop approve`` command
calls; it passes exactly the subject (path -> hash) that was approved.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from devloop.provenance.migrate import migrate_v1

VERSION = 2

NEW, RUNNING, DONE, WAITING, GATE, FAILED, INTERRUPTED = (
    "new",
    "running",
    "done",
    "waiting",
    "gate",
    "failed",
    "interrupted",
)
PENDING, APPROVED = "pending", "approved"


class GateError(Exception):
    """An approval that does not apply (no such gate waiting, or its subject changed)."""


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values so that the committed lock stays short and diffs well."""
    return {k: v for k, v in d.items() if v not in (None, {}, [], "")}


@dataclass
class Call:
    """A finished call of an attempt: the files it produced (path -> hash) and its parsed answer."""

    id: str
    outputs: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Wait:
    """A call waiting on a person; ``before`` are the hashes when the prompt was written."""

    paths: list[str]
    before: dict[str, str] = field(default_factory=dict)
    prompt: str | None = None


@dataclass
class Rejection:
    """Why a call's answer was refused, and its files' hashes then (a change since is a new answer)."""

    reason: str
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Force:
    """A request to regenerate the step: by whom, why, and what its prompt should carry."""

    by: str  # redo, drifted, triage, monitor
    reason: str
    note: str | None = None  # a triage note for the step's prompt
    seed: dict[str, Any] = field(default_factory=dict)  # scratch values the new attempt starts with
    at: str | None = None


MAX_DETAIL_CHARS = 2000


def bounded(text: str | None, limit: int = MAX_DETAIL_CHARS) -> str:
    """A detail kept in the (committed) lock: at most ``limit`` characters, saying how much was cut."""
    text = text or ""
    if len(text) <= limit:
        return text
    return text[:limit] + f" ... [{len(text) - limit:,} more characters not kept]"


@dataclass
class Attempt:
    n: int
    base: dict[str, str]  # the step's inputs when the attempt started
    started: str
    forced: str | None = None  # Force.by when a force opened it
    reason: str | None = None
    note: str | None = None
    calls: list[Call] = field(default_factory=list)
    inflight: str | None = None  # an author call that may have left partial files
    inflight_paths: list[str] = field(default_factory=list)  # the files that call may have been writing
    waits: dict[str, Wait] = field(default_factory=dict)
    rejected: dict[str, Rejection] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)  # the step's own notes (round numbers, run folder)
    calls_made: int = 0
    # The attempt failed for its agents' setup: {"fix": what to change, "setup": the setup_key it failed
    # with}. It is not asked again while the setup is the same (see devloop.loop.engine).
    blocked: dict[str, str] = field(default_factory=dict)

    def matches(self, inputs: dict[str, str]) -> bool:
        """The attempt can resume: its inputs are as it left them.

        Inputs the attempt itself rewrote (validation pass 2) are expected
        with the hash its call recorded; files a person is writing right now
        for a waiting call are not compared.
        """
        if set(self.base) != set(inputs):
            return False
        expected = dict(self.base)
        for c in self.calls:
            expected.update((p, h) for p, h in c.outputs.items() if p in expected)
        for r in self.rejected.values():  # a refused answer's files stay, to be fixed or asked again
            expected.update((p, h) for p, h in r.outputs.items() if p in expected)
        for w in self.waits.values():
            for p in w.paths:
                expected.pop(p, None)
        if self.inflight is not None:  # a killed agent's partial files: the call is asked again, not the attempt
            for p in self.inflight_paths:
                expected.pop(p, None)
        return all(inputs.get(p) == h for p, h in expected.items())

    def ran_with(self, now: dict[str, str], facts: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
        """The inputs this attempt was given, keyed like ``now`` (the inputs when it ends).

        A file's hash is the one the attempt's own calls left (a fix round
        rewrites code a judge reads) or else the one it started from: an edit
        made by anyone else while the step ran is not what it read, so the
        record differs from the disk and the step is stale at once. A file
        that became an input during the run and that no call of it wrote is
        left out (the step never saw it: "new input"); one that stopped being
        an input is kept unless a call of it deleted it. ``facts`` (the deploy
        stamp) are not files a person edits: they keep their value at the end.
        """
        wrote: dict[str, str] = {}
        deleted: set[str] = set()
        for c in self.calls:  # in the order they finished: the last word on a file wins
            gone = set(c.data.get("deleted") or ()) - set(c.outputs)
            for p in gone:
                wrote.pop(p, None)
            deleted = (deleted - set(c.outputs)) | gone
            wrote.update(c.outputs)
        given: dict[str, str] = {}
        for p in sorted(set(now) | set(self.base)):
            if p in facts:
                if p in now:
                    given[p] = now[p]
            elif p in wrote:
                given[p] = wrote[p]
            elif p in deleted:
                continue
            elif p in self.base:
                given[p] = self.base[p]
        return given

    # -- calls -------------------------------------------------------------
    def call(self, call_id: str) -> Call | None:
        return next((c for c in self.calls if c.id == call_id), None)

    def begin(self, call_id: str, paths: list[str] | tuple[str, ...] = ()) -> None:
        self.inflight, self.inflight_paths = call_id, sorted(set(paths))

    def remember(self, call_id: str, outputs: dict[str, str], data: dict[str, Any]) -> None:
        self.calls = [c for c in self.calls if c.id != call_id]
        self.calls.append(Call(call_id, dict(outputs), dict(data)))
        self.waits.pop(call_id, None)
        self.rejected.pop(call_id, None)
        if self.inflight == call_id:
            self.inflight, self.inflight_paths = None, []

    def end_call(self) -> None:
        self.inflight, self.inflight_paths = None, []

    def wait(self, call_id: str, wait: Wait) -> None:
        self.waits[call_id] = wait

    def reject(self, call_id: str, reason: str, outputs: dict[str, str]) -> None:
        """The answer of ``call_id`` was refused: forget it, so that the next run asks again."""
        self.calls = [c for c in self.calls if c.id != call_id]
        self.rejected[call_id] = Rejection(bounded(reason), dict(outputs))
        self.waits.pop(call_id, None)  # a person asked again must change the answer from what was rejected
        if self.inflight == call_id:
            self.inflight, self.inflight_paths = None, []

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["calls"] = [_clean(c) for c in d["calls"]]
        d["waits"] = {k: _clean(v) for k, v in d["waits"].items()}
        d["rejected"] = {k: _clean(v) for k, v in d["rejected"].items()}
        return _clean(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Attempt:
        return cls(
            n=int(d.get("n") or 1),
            base=dict(d.get("base") or {}),
            started=str(d.get("started") or ""),
            forced=d.get("forced"),
            reason=d.get("reason"),
            note=d.get("note"),
            calls=[
                Call(c["id"], dict(c.get("outputs") or {}), dict(c.get("data") or {})) for c in d.get("calls") or []
            ],
            inflight=d.get("inflight"),
            inflight_paths=list(d.get("inflight_paths") or []),
            waits={
                k: Wait(list(v.get("paths") or []), dict(v.get("before") or {}), v.get("prompt"))
                for k, v in (d.get("waits") or {}).items()
            },
            rejected={
                k: Rejection(v.get("reason", ""), dict(v.get("outputs") or {}))
                for k, v in (d.get("rejected") or {}).items()
            },
            scratch=dict(d.get("scratch") or {}),
            calls_made=int(d.get("calls_made") or 0),
            blocked={str(k): str(v) for k, v in (d.get("blocked") or {}).items()},
        )


@dataclass
class StepRecord:
    """One step of one feature: its state, its current attempt, and what it last finished with."""

    state: str = NEW
    detail: str | None = None
    force: Force | None = None
    attempt: Attempt | None = None
    attempts: int = 0
    # What the step last finished with (compared by staleness).
    inputs: dict[str, str] = field(default_factory=dict)
    template: str | None = None
    config: str | None = None
    outputs: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    adopted: list[str] = field(default_factory=list)
    calls: int = 0
    agent_seconds: float = 0.0
    duration_s: float = 0.0
    finished: str | None = None

    # -- transitions ---------------------------------------------------------
    def request_force(self, force: Force) -> None:
        """Ask for one new attempt on the next run (the latest request wins)."""
        self.force = force

    def start(self, base: dict[str, str], resumable: bool, now: str) -> Attempt:
        """Enter ``running``: resume the attempt, or open a new one (always new when forced).

        ``resumable`` is the caller's verdict that the attempt's base and
        journaled outputs still match the files on disk.
        """
        force, self.force = self.force, None
        if force is None and self.attempt is not None and resumable:
            attempt = self.attempt
        else:
            self.attempts += 1
            attempt = Attempt(n=self.attempts, base=dict(base), started=now)
            if force is not None:
                attempt.forced, attempt.reason, attempt.note = force.by, force.reason, force.note
                attempt.scratch.update(force.seed)
        self.attempt = attempt
        self.state, self.detail = RUNNING, None
        return attempt

    def wait(self, detail: str) -> None:
        self._stop(WAITING, detail)

    def at_gate(self, detail: str) -> None:
        self._stop(GATE, detail)

    def fail(self, detail: str) -> None:
        self._stop(FAILED, detail)

    def interrupt(self, detail: str) -> None:
        self._stop(INTERRUPTED, detail)

    def _stop(self, state: str, detail: str) -> None:
        assert self.attempt is not None, f"{state} outside an attempt"
        self.state, self.detail = state, bounded(detail)

    def finish(
        self, *, outputs: list[str], data: dict[str, Any], note: str, current: Any, timing: dict[str, Any]
    ) -> None:
        """Enter ``done``: the attempt ends; ``current`` holds the inputs, template and config it ran with."""
        attempt = self.attempt
        self.state, self.detail = DONE, bounded(note) or None
        self.attempt, self.adopted = None, []
        self.outputs = sorted(set(outputs))
        self.data = data
        self.inputs, self.template, self.config = dict(current.inputs), current.template, current.config
        self.calls = int(timing.get("calls", 0)) + (attempt.calls_made if attempt else 0)
        self.agent_seconds = float(timing.get("agent_seconds", 0.0))
        self.duration_s = float(timing.get("duration_s", 0.0))
        self.finished = timing.get("finished")

    def adopt(self, edited: list[str], current: Any) -> None:
        """A hand edit of an output becomes the step's result; no agent is called."""
        self.state, self.detail = DONE, None
        self.attempt, self.force = None, None
        self.adopted = sorted(edited)
        self.inputs, self.template, self.config = dict(current.inputs), current.template, current.config

    def accept_input(self, path: str, sha: str) -> None:
        """A later step rewrote this step's input as part of the loop (validation pass 2): not a change."""
        if path in self.inputs:
            self.inputs[path] = sha

    def add_outputs(self, paths: list[str], deleted: tuple[str, ...] | list[str] = ()) -> None:
        """Fix rounds of a later step changed more of this step's files (the implementer's code).

        A file a fix round deleted leaves the outputs (it is not missing, it is
        gone on purpose) and joins ``data["deleted"]``.
        """
        gone = set(deleted)
        self.outputs = sorted((set(self.outputs) | set(paths)) - gone)
        if gone:
            self.data["deleted"] = sorted(set(self.data.get("deleted") or []) | gone)

    def count_calls(self, n: int) -> None:
        if self.attempt is not None:
            self.attempt.calls_made += n

    # -- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["force"] = _clean(dataclasses.asdict(self.force)) if self.force else None
        d["attempt"] = self.attempt.to_dict() if self.attempt else None
        return _clean(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepRecord:
        force = d.get("force")
        attempt = d.get("attempt")
        return cls(
            state=str(d.get("state") or NEW),
            detail=d.get("detail"),
            force=Force(**force) if isinstance(force, dict) else None,
            attempt=Attempt.from_dict(attempt) if isinstance(attempt, dict) else None,
            attempts=int(d.get("attempts") or 0),
            inputs=dict(d.get("inputs") or {}),
            template=d.get("template"),
            config=d.get("config"),
            outputs=list(d.get("outputs") or []),
            data=dict(d.get("data") or {}),
            adopted=list(d.get("adopted") or []),
            calls=int(d.get("calls") or 0),
            agent_seconds=float(d.get("agent_seconds") or 0.0),
            duration_s=float(d.get("duration_s") or 0.0),
            finished=d.get("finished"),
        )


@dataclass
class Gate:
    """A human decision point: ``pending`` until ``devloop approve`` stamps exactly ``subject``."""

    step: str
    subject: dict[str, str]
    status: str = PENDING
    detail: str = ""
    opened: str | None = None
    by: str | None = None
    at: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == PENDING

    def to_dict(self) -> dict[str, Any]:
        return _clean(dataclasses.asdict(self))


@dataclass
class FeatureLock:
    """``plans/<feature>/devloop.lock`` as typed records."""

    feature: str
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, StepRecord] = field(default_factory=dict)
    gates: dict[str, Gate] = field(default_factory=dict)
    deploy: dict[str, Any] | None = None
    smoke: dict[str, Any] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)  # sha256 -> git blob id of the same bytes (fresh clones)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as they were

    def step(self, name: str) -> StepRecord:
        """The record of ``name``, created (as ``new``) when the step never ran."""
        rec = self.steps.get(name)
        if rec is None:
            rec = self.steps[name] = StepRecord()
        return rec

    def record(self, name: str) -> StepRecord | None:
        return self.steps.get(name)

    def data(self, name: str) -> dict[str, Any]:
        rec = self.steps.get(name)
        return rec.data if rec else {}

    def outputs(self, name: str) -> list[str]:
        rec = self.steps.get(name)
        return rec.outputs if rec else []

    def registry_for(self, step: str) -> dict[str, dict[str, Any]]:
        """The artifact registry as ``step`` is judged against it: files a person is editing as the
        answer of another step's waiting call (a fix round of the code) are that call's, not hand edits."""
        held = {
            p
            for name, rec in self.steps.items()
            if name != step and rec.state == WAITING and rec.attempt is not None
            for w in rec.attempt.waits.values()
            for p in w.paths
        }
        return {p: a for p, a in self.artifacts.items() if p not in held} if held else self.artifacts

    # -- gates -----------------------------------------------------------------
    def gate_passes(self, gate: str, subject: dict[str, str]) -> bool:
        """Only an approval of exactly this subject passes; a pending stamp never does."""
        stamp = self.gates.get(gate)
        return stamp is not None and stamp.status == APPROVED and stamp.subject == subject

    def open_gate(self, gate: str, step: str, subject: dict[str, str], detail: str, now: str) -> None:
        self.gates[gate] = Gate(step=step, subject=dict(subject), detail=detail, opened=now)

    def approve(self, gate: str, current: dict[str, str], by: str, now: str) -> Gate:
        """Stamp a pending gate whose subject is unchanged (``current``: the subject's hashes now)."""
        stamp = self.gates.get(gate)
        if stamp is None or not stamp.pending:
            waiting = [g for g, s in self.gates.items() if s.pending]
            hint = f"; gates waiting: {', '.join(waiting)}" if waiting else "; no gate is waiting"
            raise GateError(f"gate {gate!r} of {self.feature} is not waiting for approval{hint}")
        changed = [p for p, h in stamp.subject.items() if current.get(p) != h]
        if changed:
            raise GateError(f"{', '.join(changed)} changed since the gate opened")
        stamp.status, stamp.by, stamp.at = APPROVED, by, now
        return stamp

    def drop_pending(self, step: str) -> None:
        """The step finished without needing its pending decision."""
        for name in [g for g, s in self.gates.items() if s.pending and s.step == step]:
            del self.gates[name]

    def pending_gate(self, step: str) -> tuple[str, Gate] | None:
        return next(((g, s) for g, s in self.gates.items() if s.step == step and s.pending), None)

    # -- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            **self.extra,
            "version": VERSION,
            "feature": self.feature,
            "artifacts": self.artifacts,
            "steps": {k: v.to_dict() for k, v in self.steps.items()},
            "gates": {k: v.to_dict() for k, v in self.gates.items()},
        }
        if self.deploy:
            d["deploy"] = self.deploy
        if self.smoke:
            d["smoke"] = self.smoke
        if self.blobs:
            d["blobs"] = self.blobs
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], feature: str) -> FeatureLock:
        if d.get("version") == 1:
            d = migrate_v1(d)
        known = {"version", "feature", "artifacts", "steps", "gates", "deploy", "smoke", "blobs"}
        steps = d.get("steps") if isinstance(d.get("steps"), dict) else {}
        gates = d.get("gates") if isinstance(d.get("gates"), dict) else {}
        return cls(
            feature=str(d.get("feature") or feature),
            artifacts=dict(d["artifacts"]) if isinstance(d.get("artifacts"), dict) else {},
            steps={k: StepRecord.from_dict(v) for k, v in steps.items() if isinstance(v, dict)},
            gates={k: _gate(v) for k, v in gates.items() if isinstance(v, dict)},
            deploy=d.get("deploy") or None,
            smoke=dict(d.get("smoke") or {}),
            blobs=dict(d["blobs"]) if isinstance(d.get("blobs"), dict) else {},
            extra={k: v for k, v in d.items() if k not in known},
        )


def _gate(d: dict[str, Any]) -> Gate:
    return Gate(
        step=str(d.get("step") or ""),
        subject=dict(d.get("subject") or {}),
        status=APPROVED if d.get("status") == APPROVED else PENDING,
        detail=str(d.get("detail") or ""),
        opened=d.get("opened"),
        by=d.get("by"),
        at=d.get("at"),
    )
