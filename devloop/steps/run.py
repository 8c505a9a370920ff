"""The run context every step's loop is written against.

A step's ``run`` is a short script of agent calls. Each call has an id that is
stable across re-runs (``round1-review``); finished calls are journaled in the
step's attempt (see :mod:`devloop.provenance.state`), so a run killed at any
moment resumes without repeating them, a call a person has not answered yet
waits, and a call whose answer was rejected is asked again with the reason.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from devloop.agents import build_agent
from devloop.agents.base import AgentRequest, CallStatus, RoleKind
from devloop.confine import reach as R
from devloop.confine.reach import for_judge
from devloop.provenance import ledger
from devloop.provenance.hashing import MISSING, hash_content, hash_file
from devloop.provenance.lockfile import now_iso
from devloop.provenance.state import Attempt, FeatureLock, StepRecord, Wait
from devloop.runtime import procs
from devloop.runtime.atomic import archive, atomic_write_text
from devloop.runtime.errors import StepFailed
from devloop.runtime.progress import agent_progress
from devloop.runtime.redact import redact
from devloop.runtime.words import count
from devloop.steps import answer_cache, author_call
from devloop.steps.base import Ask, AskResult, GateStop, Step, Waiting
from devloop.steps.change import forget as forget_change
from devloop.steps.files import has_text
from devloop.steps.person import forget_walks
from devloop.steps.prompts import fenced, read_text

if TYPE_CHECKING:
    from devloop.config.workspace import Workspace
    from devloop.judging.answers import Parsed


FILE_BLOCKS_NOTE = """

## How to hand over files

You cannot edit the workspace directly in this session. Answer with the
complete new content of every file you create or change, each in a fenced
block whose info string is `file=<path>` (the path relative to the workspace),
for example:

```file=src/app.py
print("hello")
```
"""

REJECTED_NOTE = """

## Your previous answer was rejected

{reason}

Answer again, complete, with that corrected.
"""


def _role_agent(ws: Workspace, role: str) -> str:
    name = getattr(ws.config.roles, role)
    return name[0] if isinstance(name, list) else name


class StepRun:
    """The context of one execution of one step for one feature."""

    def __init__(self, ws: Workspace, feature: str, step: Step, lock: FeatureLock, record: StepRecord) -> None:
        assert record.attempt is not None, "a step runs inside an attempt"
        self.ws, self.feature, self.step, self.lock, self.record = ws, feature, step, lock, record
        self.attempt: Attempt = record.attempt
        self.scratch: dict[str, Any] = self.attempt.scratch  # the step's own notes, kept across resumes
        self.fdir = f"plans/{feature}"
        self.calls = 0
        self.restored = 0  # calls answered from the answer cache (no agent asked)
        self.agent_seconds = 0.0
        self.person_seconds = 0.0
        self.current_call: str | None = None
        self.fixes: dict[str, str] = {}  # agent -> what to change, when its last call failed for its setup
        self._mutex = threading.RLock()  # parallel calls share the lock record and the ledger

    # -- journal ----------------------------------------------------------
    @property
    def forced_by(self) -> str | None:
        """Who opened this attempt by force: redo, drifted, triage, monitor (None for a normal run)."""
        return self.attempt.forced

    def memo(self, call_id: str) -> dict[str, Any] | None:
        call = self.attempt.call(call_id)
        if call is not None and all(hash_file(self.ws.root / p) != MISSING for p in call.outputs):
            return {"id": call.id, "outputs": call.outputs, "data": call.data}
        return None

    def _remember(self, call_id: str, outputs: dict[str, str], data: dict[str, Any]) -> None:
        with self._mutex:
            self.attempt.remember(call_id, outputs, data)
            self.save()
        forget_walks(self.ws, self.feature, self.step.name, call_id)

    def save(self) -> None:
        with self._mutex:
            self.ws.write_lock(self.feature, self.lock)

    def _hashes(self, paths: Iterable[str]) -> dict[str, str]:
        return {p: hash_file(self.ws.root / p) for p in paths}

    def rejected(self, call_id: str, reason: str, paths: Iterable[str] = ()) -> StepFailed:
        """Refuse the answer of ``call_id`` (recorded); raise the result: the next doit asks again.

        ``paths`` are the files that answer left: if a person changes them
        before the next run, that change is taken as the new answer.
        """
        with self._mutex:
            self.attempt.reject(call_id, redact(reason), self._hashes(paths))
        return StepFailed(reason, retry=True)

    def _hand_fixed(self, call_id: str) -> bool:
        """The files of a rejected answer changed since: a person answered in the agent's place."""
        rej = self.attempt.rejected.get(call_id)
        return rej is not None and bool(rej.outputs) and self._hashes(rej.outputs) != rej.outputs

    # -- files ------------------------------------------------------------
    def register(self, rel: str, sha: str | None = None) -> str:
        sha = sha or hash_file(self.ws.root / rel)
        with self._mutex:
            self.lock.artifacts[rel] = {"sha256": sha, "step": self.step.name, "at": now_iso()}
        return sha

    def write(self, rel: str, text: str, mode: int | None = None) -> str:
        """Write an artifact atomically, archiving a different previous version first."""
        path = self.ws.confined(rel)
        text = redact(text)
        data = text.encode("utf-8")
        new = hash_content(data)
        if path.exists():
            if hash_file(path) == new:
                return self.register(rel, new)
            archive(self.ws.root, path, self.ws.history_dir(self.feature), self.step.name)
        atomic_write_text(path, text, mode)
        return self.register(rel, new)

    # -- agent calls ------------------------------------------------------
    def _agent(self, role: str, agent_name: str | None = None) -> Any:
        cfg = self.ws.config
        name = agent_name or _role_agent(self.ws, role)
        return build_agent(name, cfg.agents[name], cfg.env_allow)

    def invoke(self, agent: Any, request: AgentRequest, show: bool = True) -> Any:
        label = f"{self.step.name}:{self.feature} {request.call_id} -> {agent.name}"
        if agent.model:
            label += f" ({agent.model})"
        self.current_call = f"{request.call_id} ({agent.name})"
        started = time.monotonic()
        try:
            if _is_manual(agent) or not show:
                result = agent.run(request)
            else:
                with agent_progress(label):
                    result = agent.run(request)
        except KeyboardInterrupt:
            self._ledger(agent, request, "interrupted", time.monotonic() - started, None, "interrupted by a signal")
            raise
        result.detail = redact(result.detail)
        if result.status is not CallStatus.WAITING:
            with self._mutex:
                self.calls += 1
                if _is_manual(agent):
                    self.person_seconds += result.duration_s
                else:
                    self.agent_seconds += result.duration_s
            self._ledger(agent, request, result.status.value, result.duration_s, result, result.detail or None)
        return result

    def _ledger(self, agent: Any, req: AgentRequest, status: str, seconds: float, result: Any, detail: Any) -> None:
        usage = result.usage if result is not None else {}
        ledger.append(
            self.ws.root,
            {
                "feature": self.feature,
                "step": self.step.name,
                "role": req.role,
                "call": req.call_id,
                "agent": agent.name,
                "model": (result.model if result is not None else None) or agent.model,
                "status": status,
                "duration_s": round(seconds, 3),
                "exit_code": result.exit_code if result is not None else None,
                "tokens_in": usage.get("tokens_in"),
                "tokens_out": usage.get("tokens_out"),
                "cost_usd": usage.get("cost_usd"),
                "detail": detail,
                **({"person": True} if _is_manual(agent) else {}),
            },
        )

    def _request(self, role: str, kind: RoleKind, call_id: str, prompt: str, rnd: int, **kw: Any) -> AgentRequest:
        rej = self.attempt.rejected.get(call_id)
        if rej is not None:
            prompt += REJECTED_NOTE.format(reason=fenced(rej.reason, "why"))
        limit = self.ws.config.max_prompt_chars
        if len(prompt) > limit:
            raise StepFailed(
                f"the {role} prompt for {call_id} is {len(prompt):,} characters, over max_prompt_chars ({limit:,}); "
                "narrow the feature's paths or raise the limit in devloop.yaml"
            )
        return AgentRequest(
            prompt=prompt,
            workspace=self.ws.root,
            feature=self.feature,
            step=self.step.name,
            role=role,
            role_kind=kind,
            call_id=call_id,
            round=rnd,
            **kw,
        )

    def _before(self, call_id: str, paths: Iterable[str]) -> dict[str, str]:
        """The files' hashes when this call's prompt was first written (a person answers by changing them).

        After a rejection, the hashes of the rejected answer: a change made
        since (before this run) is already the new answer.
        """
        wait = self.attempt.waits.get(call_id)
        if wait is not None:
            return dict(wait.before)
        now = self._hashes(paths)
        rej = self.attempt.rejected.get(call_id)
        return {**now, **{p: h for p, h in rej.outputs.items() if p in now}} if rej is not None else now

    def _waiting(self, call_id: str, paths: list[str], before: dict[str, str], prompt: str | None) -> None:
        with self._mutex:
            self.attempt.wait(call_id, Wait(list(paths), before, prompt))

    def ask(
        self,
        call_id: str,
        role: str,
        prompt: str,
        answer_path: str,
        parse: Callable[[str], Parsed],
        rnd: int = 1,
        agent_name: str | None = None,
    ) -> dict[str, Any]:
        """A judge call: the answer is parsed (fail-closed) and written to ``answer_path``."""
        res = self._ask_one(Ask(call_id, role, prompt, answer_path, parse, rnd, agent_name), show=True)
        if res.status == "waiting":
            raise Waiting(res.detail, answer_path, res.prompt_path)
        if res.status == "answered" and res.data is not None:
            return res.data
        if res.status == "unparseable":
            raise StepFailed(f"{role} answer for {call_id} is unparseable ({res.detail})", retry=True)
        raise StepFailed(f"{role} agent did not answer ({call_id}): {res.detail}", retry=True, fix=res.fix)

    def ask_all(self, asks: list[Ask], label: str) -> list[AskResult]:
        """Judge calls made in parallel; every outcome is returned, none raised.

        Answered and parsed calls are journaled like ``ask``; the others are
        not, so the next run asks them again (with the reason when rejected).
        """
        results: list[AskResult | None] = [None] * len(asks)
        todo = []
        for i, a in enumerate(asks):
            hit = self.memo(a.call_id)
            if hit is not None:
                results[i] = AskResult("answered", a, hit["data"])
            else:
                todo.append(i)
        if todo:
            with agent_progress(f"{label}: {count(len(todo), 'call')} in parallel"):
                self._in_threads(asks, todo, results)
        return [r for r in results if r is not None]

    def _in_threads(self, asks: list[Ask], todo: list[int], results: list[AskResult | None]) -> None:
        """Ask ``asks[i]`` for each ``i`` in ``todo``, one thread each, into ``results``; a worker's exception is
        raised here. Plain threads, not a pool: ``concurrent.futures`` loads ``logging``, 10-20 ms of a
        review step's own time."""
        outcomes: dict[int, tuple[AskResult | None, BaseException | None]] = {}

        def work(i: int) -> None:
            try:
                outcomes[i] = (self._ask_one(asks[i]), None)
            except BaseException as exc:  # handed to the caller, in the order asked
                outcomes[i] = (None, exc)

        threads = [threading.Thread(target=work, args=(i,), name=f"devloop-ask-{i}") for i in todo]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():  # in slices: a Ctrl-C taken by a worker thread is acted on here
                    t.join(0.25)
            for i in todo:
                result, exc = outcomes[i]
                if exc is not None:
                    raise exc
                results[i] = result
        except BaseException:
            procs.stop_all()  # the workers' agents: stop them before waiting for the workers
            for t in threads:
                t.join()
            raise

    def _ask_one(self, a: Ask, show: bool = False) -> AskResult:
        hit = self.memo(a.call_id)
        if hit is not None:
            return AskResult("answered", a, hit["data"])
        agent = self._agent(a.role, a.agent_name)
        before = self._before(a.call_id, [a.answer_path])
        req = self._request(
            a.role, RoleKind.JUDGE, a.call_id, a.prompt, a.rnd, answer_path=a.answer_path, before=tuple(before.items())
        )

        key = None
        if answer_cache.usable(self, agent):
            asked = a.key_prompt + req.prompt[len(a.prompt) :] if a.key_prompt is not None else req.prompt
            key = answer_cache.judge_key(self, agent, req, a.parse, asked)
        if key is not None and (res := self._restore_judge(a, agent, key)) is not None:
            return res
        result, seen, why = author_call.confined(self, agent, req, for_judge(self.ws.root), show)
        if seen.refused:  # a judge's program wrote in the workspace: its answer does not count
            self.rejected(a.call_id, why)
            return AskResult("unparseable", a, None, why, result.model or agent.model)
        model = result.model or agent.model
        if result.status is CallStatus.WAITING:
            self._waiting(a.call_id, [a.answer_path], before, result.prompt_path)
            return AskResult("waiting", a, None, result.detail, model, result.prompt_path)
        self._note_fix(agent.name, result)
        if not result.ok:
            kind = "unparseable" if result.malformed else "did_not_run"
            return AskResult(kind, a, None, result.detail, model, fix=result.fix)
        parsed = a.parse(result.text)
        if not parsed.ok:
            kept = self._keep_rejected(a.call_id, result.text, a.answer_path, agent)
            manual = [a.answer_path] if _is_manual(agent) else []
            self.rejected(a.call_id, f"the answer is unparseable: {parsed.reason}", manual)
            return AskResult("unparseable", a, None, f"{parsed.reason} (kept at {kept})", model)
        text = result.text if result.text.endswith("\n") else result.text + "\n"
        sha = self.write(a.answer_path, text)
        data = {**parsed.as_dict(), "agent": agent.name, "model": model}
        self._remember(a.call_id, {a.answer_path: sha}, data)
        if key is not None:
            cache = answer_cache.of(self.ws)
            cache.keep(*answer_cache.judge_entry(self, key, req, text, answer_cache.record(self, agent, result)))
        return AskResult("answered", a, data, "", model)

    def _restore_judge(self, a: Ask, agent: Any, key: str) -> AskResult | None:
        """The cached answer to this exact question, read by today's grammar and written as a fresh one; else None."""
        cache = answer_cache.of(self.ws)
        found = cache.find(key)
        if found is None:
            return None
        entry = found.entry
        try:
            text = found.blobs[entry.answer or ""].decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            cache.refused(key, found.store, "its answer is not UTF-8 text")
            return None
        parsed = a.parse(text) if entry.kind == "judge" else None
        if parsed is None or not parsed.ok:
            why = parsed.reason if parsed is not None else f"it is a {entry.kind}'s answer"
            cache.refused(key, found.store, f"its answer does not read as one: {why}")
            return None
        sha = self.write(a.answer_path, text)
        model = entry.record.get("model") or agent.model
        data = {**parsed.as_dict(), "agent": agent.name, "model": model, "restored": key[:12]}
        self._remember(a.call_id, {a.answer_path: sha}, data)
        self._restored(agent, a.role, a.call_id, found)
        return AskResult("answered", a, data, "", model)

    def _restored(self, agent: Any, role: str, call_id: str, found: Any) -> None:
        """Count a restore and write its ledger line: what the original call cost is what this one saved."""
        rec = found.entry.record
        with self._mutex:
            self.restored += 1
        call = {"feature": self.feature, "step": self.step.name, "role": role, "call": call_id,
                "agent": agent.name, "model": rec.get("model") or agent.model}  # fmt: skip
        detail = f"restored from the answer cache ({found.store})"
        writer = found.entry.writer.get("user")
        ledger.append(self.ws.root, ledger.restored(call, rec, found.entry.key, found.store, writer, detail))

    def _note_fix(self, agent: str, result: Any) -> None:
        with self._mutex:
            if result.fix and not result.ok:
                self.fixes[agent] = result.fix
            else:
                self.fixes.pop(agent, None)

    def fix_for(self, agents: Iterable[str]) -> str:
        """What to change when every one of ``agents`` last failed for its setup; else "" (asking again may help)."""
        names = list(dict.fromkeys(agents))
        if not names or not all(self.fixes.get(n) for n in names):
            return ""
        return "; ".join(dict.fromkeys(self.fixes[n] for n in names))

    def _keep_rejected(self, call_id: str, text: str, answer_path: str, agent: Any) -> str:
        if _is_manual(agent):
            return answer_path
        return self.keep_answer(call_id, text) or answer_path

    def keep_answer(self, call_id: str, text: str) -> str | None:
        """Keep a refused answer's text under .devloop/rejected/ (redacted); its path, or None when it was empty."""
        if not text.strip():
            return None
        rel = f".devloop/rejected/{self.feature}/{self.step.name}-{call_id}-{int(time.time())}.md"
        self.ws.ensure_state_dir()
        atomic_write_text(self.ws.confined(rel), redact(text))
        return rel

    def author(
        self,
        call_id: str,
        role: str,
        prompt: str,
        expected: list[str],
        rnd: int = 1,
        agent_name: str | None = None,
        revise: bool = False,
        fallbacks: tuple[str, ...] = (),
        watch: Iterable[str] = (),
        focus: Iterable[str] = (),
    ) -> list[str]:
        """An author call: the agent writes files; returns every file it changed.

        ``revise`` marks a call that must change existing files (files a person
        wrote before the loop are not adopted in its place). A person playing
        the role (manual agent) has answered once an ``expected`` or ``watch``
        file differs from when the prompt was written. What the agent may
        write is the role's reach (:mod:`devloop.confine.reach`); a write out
        of it refuses the answer. ``fallbacks`` are
        agents tried in order when the agent is unavailable (backup implementer
        rotation); the journal records who did the work. ``focus`` are the
        files a fix round's findings point at: a person is told to edit them.
        While a person works on the answer, every input of this step they may
        write is theirs: an edit of it is the answer, not a change under the
        step (the attempt resumes with it).
        """
        watch = list(watch)
        hit = self.memo(call_id)
        if hit is not None:
            return list(hit["data"]["changed"])
        if self._hand_fixed(call_id):
            outputs = {p: self.register(p) for p in expected if (self.ws.root / p).is_file()}
            self._remember(call_id, outputs, {"changed": sorted(outputs), "agent": "hand", "model": None})
            return sorted(outputs)
        before = self._before(call_id, [*expected, *watch])
        fresh = call_id not in self.attempt.waits and call_id not in self.attempt.rejected
        fresh = fresh and self.attempt.inflight != call_id  # files a killed agent left are not a person's
        if fresh and not revise and author_call.hand_written(self, expected):
            outputs = {p: self.register(p) for p in expected}
            self._remember(call_id, outputs, {"changed": sorted(outputs), "agent": "hand", "model": None})
            return sorted(outputs)
        if self.attempt.inflight == call_id:
            for rel in expected:  # a previous attempt died mid-call: keep what it left
                archive(self.ws.root, self.ws.root / rel, self.ws.history_dir(self.feature), "partial")
        req = self._request(
            role,
            RoleKind.AUTHOR,
            call_id,
            prompt,
            rnd,
            expected_files=tuple(expected),
            before=tuple(before.items()),
            focus=tuple(p for p in dict.fromkeys(focus) if p not in expected),
        )
        names = [agent_name or _role_agent(self.ws, role), *fallbacks]
        primary = self._agent(role, names[0])
        state = None  # what the author may read beyond its prompt, for the answer cache's key
        if answer_cache.usable(self, primary):
            state = answer_cache.reads(self)
            restored = self._restore_author(primary, req, state, expected, revise)
            if restored is not None:
                return restored
        rotation: list[dict[str, str]] = []
        for i, name in enumerate(names):
            agent = primary if i == 0 else self._agent(role, name)
            blocks = getattr(agent, "returns_file_blocks", False)
            ask = dataclasses.replace(req, prompt=req.prompt + FILE_BLOCKS_NOTE) if blocks else req
            result, changed = author_call.call(self, agent, ask, expected, list(watch))
            forget_change(self.ws)
            self._note_fix(name, result)
            if result.status is CallStatus.WAITING:
                self._waiting(call_id, self._theirs(role, expected, watch), before, result.prompt_path)
                raise Waiting(result.detail, expected[0] if expected else "", result.prompt_path)
            if result.ok:
                break
            self.attempt.end_call()
            if result.status is CallStatus.UNAVAILABLE and i + 1 < len(names):
                rotation.append({"agent": name, "detail": result.detail})
                continue
            why = f"{role} agent {agent.name!r} failed ({call_id}): {result.detail}"
            raise StepFailed(why, retry=True, fix=self.fix_for(names[: i + 1]))
        missing = [p for p in expected if not has_text(self.ws.root / p)]
        if missing:
            self.attempt.end_call()
            why = f"{role} agent {agent.name!r} did not write {', '.join(missing)} (missing or empty)"
            if kept := self.keep_answer(call_id, result.text):
                hint = ""
                if "```file=" in result.text and not getattr(agent, "returns_file_blocks", False):
                    hint = " (it printed file= blocks: set `answer: text` on the agent to have devloop write them)"
                why += f"; its answer is kept at {kept}{hint}"
            raise self.rejected(call_id, why)
        outputs = {p: self.register(p) for p in changed if (self.ws.root / p).is_file()}
        deleted = sorted(p for p in changed if not os.path.lexists(self.ws.root / p))
        data = {
            "changed": sorted(outputs),
            "deleted": deleted,
            "agent": agent.name,
            "model": agent.model,
            "rotation": rotation,
        }
        self._remember(call_id, outputs, data)
        if state is not None and answer_cache.usable(self, agent):
            key = answer_cache.author_key(self, agent, req, state, revise)
            rec = answer_cache.record(self, agent, result)
            made = answer_cache.author_entry(self, key, req, [*outputs, *deleted], rec)
            if made is not None:
                answer_cache.of(self.ws).keep(*made)
        return sorted(outputs)

    def _restore_author(
        self, agent: Any, req: AgentRequest, state: dict[str, str], expected: list[str], revise: bool
    ) -> list[str] | None:
        """The files a cached answer to this exact question left, written back; None when there is none to trust."""
        key = answer_cache.author_key(self, agent, req, state, revise)
        cache = answer_cache.of(self.ws)
        found = cache.find(key)
        if found is None:
            return None
        reach = R.for_author(self.ws, self.feature, req.role, expected)
        why = answer_cache.author_problem(found, expected, reach)
        if why is not None:
            cache.refused(key, found.store, why)
            return None
        written = answer_cache.restore_files(self, found)
        forget_change(self.ws)
        outputs = {p: found.entry.files[p] for p in written}
        data = {
            "changed": sorted(outputs),
            "deleted": list(found.entry.deleted),
            "agent": agent.name,
            "model": found.entry.record.get("model") or agent.model,
            "rotation": [],
            "restored": key[:12],
        }
        self._remember(req.call_id, outputs, data)
        self._restored(agent, req.role, req.call_id, found)
        return sorted(outputs)

    def _theirs(self, role: str, expected: list[str], watch: list[str]) -> list[str]:
        """What a person answering an author call may change: its files, and the step's inputs in the role's reach."""

        reach = R.for_author(self.ws, self.feature, role, expected, owner="you")
        inputs = [p for p in self.step.inputs(self.ws, self.feature, self.lock) if reach.why_not(p) is None]
        return list(dict.fromkeys([*expected, *watch, *inputs]))

    def triage_note(self) -> str:
        """The triage note that sent the loop back to this step, if any (it lives as long as the attempt)."""

        return read_text(self.ws, self.attempt.note) if self.attempt.note else ""

    def accept_upstream(self, step: str, paths: list[str]) -> None:
        """This step rewrote an input of an earlier step as part of the loop (e.g. validation pass 2):
        record the new hashes there, so the earlier step does not re-run because of it."""
        record = self.lock.record(step)
        if record is None:
            return
        with self._mutex:
            for p in paths:
                record.accept_input(p, hash_file(self.ws.root / p))
            self.save()

    # -- gates --------------------------------------------------------------
    def gate(self, gate: str, subject: dict[str, str], detail: str, artifact: str = "") -> None:
        """Pass only if ``devloop approve`` stamped exactly this subject (path -> hash); else stop there."""
        if self.lock.gate_passes(gate, subject):
            return
        self.lock.open_gate(gate, self.step.name, subject, detail, now_iso())
        raise GateStop(gate, detail, artifact)


def _is_manual(agent: Any) -> bool:
    return type(agent).__name__ == "ManualAgent"
