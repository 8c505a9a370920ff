"""Is every configured agent usable? Binaries, versions, keys, and (only when asked) a tiny probe."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devloop.agents import build_agent
from devloop.agents.base import AgentRequest, RoleKind
from devloop.agents.command import CommandAgent
from devloop.config.models import LIST_ROLES, SINGLE_ROLES
from devloop.config.workspace import AttrView
from devloop.confine import watch
from devloop.confine.reach import for_judge
from devloop.confine.watch import Box, SandboxUnavailable, choose
from devloop.judging.rendered import set_aside_reasoning
from devloop.runtime.procs import last_line

OPTIONAL_ROLES = ("implementer_rotation", "adhoc")
PROBE_PROMPT = (
    "This is a connectivity check from devloop doctor. Reply with exactly this token and nothing else: {token}"
)
PROBE_TIMEOUT = 60.0  # seconds for all probes together
GRACE = 2.0  # after the deadline: time for a killed agent's process group to be reaped and reported
_WRAPPING = " \t\r\n`\"'"  # what may surround the token: whitespace, backticks, quotes


@dataclass
class AgentCheck:
    agent: str
    kind: str
    ok: bool
    detail: str
    version: str = ""
    seconds: float | None = None  # how long the agent's check (and probe) took


def probe_token() -> str:
    """A token no answer can contain by chance: the probe passes only when the agent repeats it."""
    return f"devloop-probe-{secrets.token_hex(3)}"


def token_answered(text: str, token: str) -> bool:
    """Whether ``text`` is exactly ``token``: after a leading ``<think>`` block, with only whitespace, backticks
    or quotes around it."""

    answer, problem = set_aside_reasoning(text or "")
    return problem is None and answer.strip(_WRAPPING) == token


def _shown(text: str) -> str:
    """An unexpected answer, short and on one line, for the report."""
    one_line = re.sub(r"\s+", " ", text or "").strip()
    return repr(one_line[:80] + ("..." if len(one_line) > 80 else ""))


def _resolve(binary: str) -> str | None:
    if "/" in binary:
        return binary if os.access(binary, os.X_OK) else None
    return shutil.which(binary)


def check_agent(
    ws: Any, name: str, cfg: Any, probe: bool, token: str = "", deadline: float | None = None
) -> AgentCheck:
    """One agent's check; with ``probe``, also a call asking for ``token``, ended by ``deadline`` (monotonic)."""
    kind = cfg.kind
    if kind == "manual":
        return AgentCheck(name, kind, True, "a person: prompts are written under .devloop/prompts/")
    if kind == "replay":
        folder = Path(cfg.dir) if Path(cfg.dir).is_absolute() else ws.root / cfg.dir
        ok = folder.is_dir()
        return AgentCheck(name, kind, ok, f"recorded answers in {cfg.dir}" if ok else f"folder {cfg.dir} is missing")
    if kind == "openai":
        if cfg.api_key_env and not os.environ.get(cfg.api_key_env):
            return AgentCheck(name, kind, False, f"environment variable {cfg.api_key_env} is not set")
        check = AgentCheck(name, kind, True, f"{cfg.base_url} model {cfg.model} (not probed)")
    else:
        argv = CommandAgent(name, cfg).argv_for(RoleKind.JUDGE)
        path = _resolve(argv[0])
        if path is None:
            return AgentCheck(name, kind, False, f"{argv[0]} not found on PATH")
        try:
            box = _box(ws, cfg)
        except SandboxUnavailable as exc:
            return AgentCheck(name, kind, False, str(exc))
        where = "confined by bubblewrap" if box.mode == "bubblewrap" else f"unconfined ({box.why})"
        check = AgentCheck(name, kind, True, f"{path}, {where} (not probed)", _version(path, ws.root, box))
    if probe:
        check.ok, check.detail = _probe(ws, name, cfg, token or probe_token(), deadline)
    return check


def check_agents(ws: Any, probe: bool, timeout: float = PROBE_TIMEOUT) -> tuple[dict[str, AgentCheck], float]:
    """Every configured agent checked at once (one thread each), in config order, and the seconds it took.

    With ``probe``, all of it runs under one deadline of ``timeout`` seconds: an agent's own timeout
    is cut to what is left, and an agent that has not finished by then is reported as such.
    """
    start = time.monotonic()
    deadline = start + timeout if probe else None
    token = probe_token()
    agents = list(ws.config.agents.items())
    done: dict[str, AgentCheck] = {}
    finished = threading.Condition()

    def one(name: str, cfg: Any) -> None:
        began = time.monotonic()
        try:
            check = check_agent(ws, name, cfg, probe, token, deadline)
        except Exception as exc:  # a bug in one agent's check is that agent's failure, not doctor's
            check = AgentCheck(name, cfg.kind, False, f"the check failed: {type(exc).__name__}: {exc}")
        check.seconds = round(time.monotonic() - began, 2)
        with finished:
            done[name] = check
            finished.notify_all()

    for name, cfg in agents:  # daemon threads: one stuck past the deadline does not keep doctor alive
        threading.Thread(target=one, args=(name, cfg), name=f"devloop-doctor-{name}", daemon=True).start()
    with finished:
        while len(done) < len(agents):
            left = None if deadline is None else deadline + GRACE - time.monotonic()
            if left is not None and left <= 0:
                break
            finished.wait(left)
        results = dict(done)
    out = {}
    for name, cfg in agents:
        out[name] = results.get(name) or AgentCheck(
            name, cfg.kind, False, f"no answer within the {timeout:g}s probe deadline", seconds=round(timeout, 2)
        )
    return out, time.monotonic() - start


def _box(ws: Any, cfg: Any, where: Path | None = None) -> Any:
    """The box an agent's program runs in, as a judge (a read-only workspace: ``where``, default the workspace)."""

    return Box(ws, for_judge(where or ws.root), cfg.sandbox or ws.config.sandbox, cfg.writable, say=False)


def sandbox_status(ws: Any) -> dict[str, Any]:
    """How agents' programs are confined here (the workspace's ``sandbox`` setting): mode, program, why not."""

    try:
        mode, program, why = choose(ws.config.sandbox)
    except SandboxUnavailable as exc:
        return {"ok": False, "setting": ws.config.sandbox, "mode": None, "program": None, "why": str(exc)}
    return {"ok": True, "setting": ws.config.sandbox, "mode": mode, "program": program, "why": why or None}


def sandbox_line(status: dict[str, Any]) -> str:
    if not status["ok"]:
        return f"FAIL {status['why']}"
    if status["mode"] == "bubblewrap":
        return f"ok   bubblewrap ({status['program']}): agents, gates and checks write only within their reach"
    return f"off  {status['why']}: programs run unconfined; writes out of reach are found afterwards and put back"


def _version(path: str, cwd: Path, box: Any = None) -> str:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    try:
        done, _ = watch.run(box, [path, "--version"], cwd, env, 15)
    except OSError:
        return ""
    if done.timed_out:
        return "(--version timed out)"
    return last_line(done.stdout) or last_line(done.stderr)


def _probe(ws: Any, name: str, cfg: Any, token: str, deadline: float | None = None) -> tuple[bool, str]:
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, "no time left before the probe deadline"
        cfg = _within(cfg, left)
    agent = build_agent(name, cfg, list(ws.config.env_allow))
    with tempfile.TemporaryDirectory(prefix="devloop-doctor-") as tmp:
        box = _box(ws, cfg, Path(tmp)) if cfg.kind == "command" else None
        request = AgentRequest(
            prompt=PROBE_PROMPT.format(token=token),
            workspace=Path(tmp),
            feature="doctor",
            step="doctor",
            role="probe",
            role_kind=RoleKind.JUDGE,
            call_id="probe",
            box=box,
        )
        result = agent.run(request)
    took = f"{result.duration_s:.1f}s"
    if not result.ok and deadline is not None and time.monotonic() >= deadline - 0.5:
        return False, f"no answer within the probe deadline (stopped after {took}: {result.detail})"
    if not result.ok:
        return False, f"probe failed ({result.status.value}) after {took}: {result.detail}"
    if not token_answered(result.text, token):
        return False, f"probe answered in {took}, but not with the token (got: {_shown(result.text)})"
    return True, f"probe answered with the token in {took}"


def _within(cfg: Any, seconds: float) -> Any:
    """The agent's config cut to the probe's deadline: its ``timeout`` ends the call (a command's process
    group is killed), and an endpoint's retries wait no longer than what is left (``retry_budget``)."""
    seconds = max(0.1, round(seconds, 1))  # shown in a timeout's message
    update: dict[str, Any] = {"timeout": min(float(cfg.timeout), seconds)}
    if cfg.kind == "openai":
        update["retry_budget"] = min(float(cfg.get("retry_budget", seconds)), seconds)

    return AttrView({**dict(cfg.items()), **update})


def role_report(ws: Any, checks: dict[str, AgentCheck]) -> list[tuple[str, list[str], str]]:
    """(role, agents, verdict) for every role; verdict is ok, partial, none or optional."""
    out = []
    for role in (*SINGLE_ROLES, *LIST_ROLES):
        names = getattr(ws.config.roles, role)
        names = names if isinstance(names, list) else [names]
        if not names:
            out.append((role, [], "optional" if role in OPTIONAL_ROLES else "none"))
            continue
        working = [n for n in names if checks[n].ok]
        verdict = "ok" if len(working) == len(names) else ("partial" if working else "none")
        if verdict == "none" and role in OPTIONAL_ROLES:
            verdict = "optional"
        out.append((role, names, verdict))
    return out
