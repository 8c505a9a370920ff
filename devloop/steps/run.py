"""The run context every step's loop is written against.

A step's ``run`` is a short script of agent calls. Each call has an id that is
stable across re-runs (``round1-review``); finished calls are journaled in the
lock, so a run killed at any moment resumes without repeating them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devloop.agents.base import AgentRequest, CallStatus, RoleKind
from devloop.atomic import archive, atomic_write_text
from devloop.errors import StepFailed
from devloop.provenance.hashing import MISSING, hash_bytes, hash_file
from devloop.provenance.lockfile import now_iso
from devloop.redact import redact
from devloop.steps.base import Ask, AskResult, GateStop, Step, Waiting
from devloop.steps.files import has_text, snapshot

if TYPE_CHECKING:
    from devloop.answers import Parsed
    from devloop.workspace import Workspace


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


def _role_agent(ws: Workspace, role: str) -> str:
    name = getattr(ws.config.roles, role)
    return name[0] if isinstance(name, list) else name


class StepRun:
    """The context of one execution of one step for one feature."""

    def __init__(self, ws: Workspace, feature: str, step: Step, lock: dict[str, Any], base: dict[str, str]) -> None:
        self.ws, self.feature, self.step, self.lock = ws, feature, step, lock
        self.fdir = f"plans/{feature}"
        self.calls = 0
        self.agent_seconds = 0.0
        self.record = lock["steps"].setdefault(step.name, {})
        journal = self.record.get("journal")
        if not self._journal_valid(journal, base):
            journal = {"base": base, "calls": [], "inflight": None, "started": now_iso()}
        self.record["journal"] = journal
        self.journal: dict[str, Any] = journal
        self._mutex = threading.RLock()  # parallel calls share the lock record and the ledger

    # -- journal ----------------------------------------------------------
    def _journal_valid(self, journal: Any, base: dict[str, str]) -> bool:
        if not isinstance(journal, dict) or journal.get("base") is None:
            return False
        expected = dict(journal["base"])
        if set(expected) != set(base):
            return False
        waiting = journal.get("waiting") or {}
        for p in waiting.get("paths") or []:
            expected.pop(p, None)  # a human is revising these right now
        for call in journal.get("calls", []):
            for p, h in (call.get("outputs") or {}).items():
                if p in expected:
                    expected[p] = h
        return all(hash_file(self.ws.root / p) == h for p, h in expected.items())

    def memo(self, call_id: str) -> dict[str, Any] | None:
        for call in self.journal["calls"]:
            if call["id"] == call_id:
                outs = call.get("outputs") or {}
                if all(hash_file(self.ws.root / p) != MISSING for p in outs):
                    return call
        return None

    def _remember(self, call_id: str, outputs: dict[str, str], data: dict[str, Any]) -> None:
        with self._mutex:
            self.journal["calls"] = [c for c in self.journal["calls"] if c["id"] != call_id]
            self.journal["calls"].append({"id": call_id, "outputs": outputs, "data": data})
            self.journal["inflight"] = None
            self.save()

    def save(self) -> None:
        with self._mutex:
            self.ws.write_lock(self.feature, self.lock)

    # -- files ------------------------------------------------------------
    def register(self, rel: str, sha: str | None = None) -> str:
        sha = sha or hash_file(self.ws.root / rel)
        with self._mutex:
            self.lock["artifacts"][rel] = {"sha256": sha, "step": self.step.name, "at": now_iso()}
        return sha

    def write(self, rel: str, text: str, mode: int | None = None) -> str:
        """Write an artifact atomically, archiving a different previous version first."""
        path = self.ws.root / rel
        data = text.encode("utf-8")
        new = hash_bytes(data)
        if path.exists():
            if hash_file(path) == new:
                return self.register(rel, new)
            archive(self.ws.root, path, self.ws.history_dir(self.feature), self.step.name)
        atomic_write_text(path, text, mode)
        return self.register(rel, new)

    # -- agent calls ------------------------------------------------------
    def _agent(self, role: str, agent_name: str | None = None) -> Any:
        from devloop.agents import build_agent

        cfg = self.ws.config
        name = agent_name or _role_agent(self.ws, role)
        return build_agent(name, cfg.agents[name], cfg.env_allow)

    def _invoke(self, agent: Any, request: AgentRequest, show: bool = True) -> Any:
        from devloop import ledger
        from devloop.progress import agent_progress

        label = f"{self.step.name}:{self.feature} {request.call_id} -> {agent.name}"
        if agent.model:
            label += f" ({agent.model})"
        if type(agent).__name__ == "ManualAgent" or not show:
            result = agent.run(request)
        else:
            with agent_progress(label):
                result = agent.run(request)
        result.detail = redact(result.detail)
        if result.status is not CallStatus.WAITING:
            with self._mutex:
                self.calls += 1
                self.agent_seconds += result.duration_s
            ledger.append(
                self.ws.root,
                {
                    "feature": self.feature,
                    "step": self.step.name,
                    "role": request.role,
                    "call": request.call_id,
                    "agent": agent.name,
                    "model": result.model or agent.model,
                    "status": result.status.value,
                    "duration_s": round(result.duration_s, 3),
                    "exit_code": result.exit_code,
                    "tokens_in": result.usage.get("tokens_in"),
                    "tokens_out": result.usage.get("tokens_out"),
                    "cost_usd": result.usage.get("cost_usd"),
                    "detail": result.detail or None,
                },
            )
        return result

    def _request(self, role: str, kind: RoleKind, call_id: str, prompt: str, rnd: int, **kw: Any) -> AgentRequest:
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
        hit = self.memo(call_id)
        if hit is not None:
            return hit["data"]
        agent = self._agent(role, agent_name)
        req = self._request(role, RoleKind.JUDGE, call_id, prompt, rnd, answer_path=answer_path)
        result = self._invoke(agent, req)
        if result.status is CallStatus.WAITING:
            raise Waiting(result.detail, answer_path, result.prompt_path)
        if not result.ok:
            raise StepFailed(f"{role} agent {agent.name!r} did not answer ({call_id}): {result.detail}")
        parsed = parse(result.text)
        if not parsed.ok:
            kept = self._keep_rejected(call_id, result.text, answer_path, agent)
            raise StepFailed(f"{role} answer for {call_id} is unparseable ({parsed.reason}); kept at {kept}")
        sha = self.write(answer_path, result.text if result.text.endswith("\n") else result.text + "\n")
        data = {**parsed.as_dict(), "agent": agent.name, "model": result.model or agent.model}
        self._remember(call_id, {answer_path: sha}, data)
        return data

    def ask_all(self, asks: list[Ask], label: str) -> list[AskResult]:
        """Judge calls made in parallel; every outcome is returned, none raised.

        Answered and parsed calls are journaled like ``ask``; failures are not,
        so the next run tries them again.
        """
        from concurrent.futures import ThreadPoolExecutor

        from devloop.progress import agent_progress

        results: list[AskResult | None] = [None] * len(asks)
        todo = []
        for i, a in enumerate(asks):
            hit = self.memo(a.call_id)
            if hit is not None:
                results[i] = AskResult("answered", a, hit["data"])
            else:
                todo.append(i)
        if todo:
            with agent_progress(f"{label}: {len(todo)} call(s) in parallel"), ThreadPoolExecutor(len(todo)) as pool:
                for i, res in zip(todo, pool.map(lambda i: self._ask_one(asks[i]), todo), strict=True):
                    results[i] = res
        return [r for r in results if r is not None]

    def _ask_one(self, a: Ask) -> AskResult:
        agent = self._agent(a.role, a.agent_name)
        req = self._request(a.role, RoleKind.JUDGE, a.call_id, a.prompt, a.rnd, answer_path=a.answer_path)
        result = self._invoke(agent, req, show=False)
        model = result.model or agent.model
        if result.status is CallStatus.WAITING:
            return AskResult("waiting", a, None, result.detail, model, result.prompt_path)
        if not result.ok:
            kind = "unparseable" if result.malformed else "did_not_run"
            return AskResult(kind, a, None, result.detail, model)
        parsed = a.parse(result.text)
        if not parsed.ok:
            kept = self._keep_rejected(a.call_id, result.text, a.answer_path, agent)
            return AskResult("unparseable", a, None, f"{parsed.reason} (kept at {kept})", model)
        sha = self.write(a.answer_path, result.text if result.text.endswith("\n") else result.text + "\n")
        data = {**parsed.as_dict(), "agent": agent.name, "model": model}
        self._remember(a.call_id, {a.answer_path: sha}, data)
        return AskResult("answered", a, data, "", model)

    def _keep_rejected(self, call_id: str, text: str, answer_path: str, agent: Any) -> str:
        if type(agent).__name__ == "ManualAgent":
            return answer_path
        rel = f".devloop/rejected/{self.feature}/{self.step.name}-{call_id}-{int(time.time())}.md"
        self.ws.ensure_state_dir()
        atomic_write_text(self.ws.root / rel, redact(text))
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
        scope: Callable[[str], bool] | None = None,
        fallbacks: tuple[str, ...] = (),
    ) -> list[str]:
        """An author call: the agent writes files; returns every file it changed.

        ``revise`` marks a call that must change existing files (a human has
        answered only once one of them differs from before the call). ``scope``
        limits which changed files count as this call's work; by default the
        files of other features (their plans and smoke scripts) never do.
        ``fallbacks`` are agents tried in order when the agent is unavailable
        (backup implementer rotation); the journal records who did the work.
        """
        hit = self.memo(call_id)
        if hit is not None:
            return list(hit["data"]["changed"])
        waiting = self.journal.get("waiting") or {}
        if waiting.get("call") == call_id:
            before = dict(waiting.get("before") or {})
        else:
            before = {p: hash_file(self.ws.root / p) for p in expected} if revise else {}
        if not revise and self._hand_written(expected):
            outputs = {p: self.register(p) for p in expected}
            self._remember(call_id, outputs, {"changed": sorted(outputs), "agent": "hand", "model": None})
            return sorted(outputs)
        if self.journal.get("inflight") == call_id:
            for rel in expected:  # a previous attempt died mid-call: keep what it left
                archive(self.ws.root, self.ws.root / rel, self.ws.history_dir(self.feature), "partial")
        req = self._request(
            role, RoleKind.AUTHOR, call_id, prompt, rnd, expected_files=tuple(expected), before=tuple(before.items())
        )
        names = [agent_name or _role_agent(self.ws, role), *fallbacks]
        rotation: list[dict[str, str]] = []
        for i, name in enumerate(names):
            agent = self._agent(role, name)
            blocks = getattr(agent, "returns_file_blocks", False)
            ask = dataclasses.replace(req, prompt=req.prompt + FILE_BLOCKS_NOTE) if blocks else req
            result, changed = self._author_call(agent, ask, expected, scope)
            if result.status is CallStatus.WAITING:
                self.journal["waiting"] = {"call": call_id, "paths": list(expected), "before": before}
                raise Waiting(result.detail, expected[0] if expected else "", result.prompt_path)
            self.journal.pop("waiting", None)
            if result.ok:
                break
            self.journal["inflight"] = None
            if result.status is CallStatus.UNAVAILABLE and i + 1 < len(names):
                rotation.append({"agent": name, "detail": result.detail})
                continue
            raise StepFailed(f"{role} agent {agent.name!r} failed ({call_id}): {result.detail}")
        missing = [p for p in expected if not has_text(self.ws.root / p)]
        if missing:
            self.journal["inflight"] = None
            raise StepFailed(f"{role} agent {agent.name!r} did not write {', '.join(missing)} (missing or empty)")
        outputs = {p: self.register(p) for p in changed if (self.ws.root / p).is_file()}
        data = {"changed": sorted(outputs), "agent": agent.name, "model": agent.model, "rotation": rotation}
        self._remember(call_id, outputs, data)
        return sorted(outputs)

    def _author_call(
        self, agent: Any, req: AgentRequest, expected: list[str], scope: Callable[[str], bool] | None
    ) -> tuple[Any, list[str]]:
        """One attempt by one agent; returns its result and the files it changed."""
        is_manual = type(agent).__name__ == "ManualAgent"
        if not is_manual:
            for rel in expected:
                archive(self.ws.root, self.ws.root / rel, self.ws.history_dir(self.feature), self.step.name)
            self.journal["inflight"] = req.call_id
            self.save()
        diffs = not getattr(agent, "returns_file_blocks", False)
        with self._alone(diffs and not is_manual and scope is None):
            snap = snapshot(self.ws.root) if diffs else {}
            result = self._invoke(agent, req)
            after = snapshot(self.ws.root) if diffs and result.ok else {}
        if not result.ok:
            return result, []
        if not diffs:
            changed = self._write_blocks(result.text, req.role)
        else:
            changed = sorted(p for p, st in after.items() if snap.get(p) != st)
            changed = [p for p in changed if (scope or self._own)(p) or p in expected]
        if is_manual:
            changed = sorted(set(changed) | set(expected))
        return result, changed

    def _alone(self, needed: bool) -> contextlib.AbstractContextManager[None]:
        """Serialize author calls whose changes are found by snapshots (see ``wslock.serial``)."""
        if not needed:
            return contextlib.nullcontext()
        from devloop.wslock import serial

        return serial(self.ws.state, "authors")

    def _own(self, rel: str) -> bool:
        """False for files that belong to another feature."""
        if rel.startswith("plans/"):
            return rel.startswith(f"{self.fdir}/")
        if rel.startswith("scripts/smoke/"):
            return rel == f"scripts/smoke/{self.feature}.sh"
        return True

    def _hand_written(self, expected: list[str]) -> bool:
        """Every expected file already exists, and devloop never wrote any of them."""
        return bool(expected) and all(
            p not in self.lock["artifacts"] and (self.ws.root / p).is_file() and (self.ws.root / p).stat().st_size > 0
            for p in expected
        )

    def _write_blocks(self, text: str, role: str) -> list[str]:
        from devloop.answers import parse_file_blocks

        try:
            files = parse_file_blocks(text)
        except ValueError as exc:
            raise StepFailed(f"{role} answer rejected: {exc}") from None
        for rel, body in files.items():
            self.write(rel, body, 0o755 if rel.endswith(".sh") else None)
        return sorted(files)

    def triage_note(self) -> str:
        """The triage note that sent the loop back to this step, if any (consumed when the step finishes)."""
        from devloop.prompts import read_text

        path = (self.lock.get("context") or {}).get(self.step.name)
        return read_text(self.ws, path) if path else ""

    def accept_upstream(self, step: str, paths: list[str]) -> None:
        """This step rewrote an input of an earlier step as part of the loop (e.g. validation pass 2):
        record the new hashes there, so the earlier step does not re-run because of it."""
        record = self.lock["steps"].get(step)
        if not record or not record.get("inputs"):
            return
        with self._mutex:
            for p in paths:
                if p in record["inputs"]:
                    record["inputs"][p] = hash_file(self.ws.root / p)
            self.save()

    # -- gates --------------------------------------------------------------
    def gate(self, gate: str, subject: dict[str, str], detail: str, artifact: str = "") -> None:
        """Pass only if ``devloop approve`` stamped exactly this subject (path -> hash)."""
        stamp = (self.lock.get("gates") or {}).get(gate) or {}
        if stamp.get("subject") == subject:
            return
        self.lock["gates"][gate] = {"pending": True, "subject": subject, "detail": detail, "step": self.step.name}
        raise GateStop(gate, detail, artifact)
