"""Is every configured agent usable? Binaries, versions, keys, and (only when asked) a tiny probe."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devloop.agents.base import AgentRequest, RoleKind
from devloop.config.models import LIST_ROLES, SINGLE_ROLES
from devloop.procs import last_line

OPTIONAL_ROLES = ("implementer_rotation", "adhoc")
PROBE_PROMPT = "This is a connectivity check from devloop doctor. Reply with the single word OK."


@dataclass
class AgentCheck:
    agent: str
    kind: str
    ok: bool
    detail: str
    version: str = ""


def _resolve(binary: str) -> str | None:
    if "/" in binary:
        return binary if os.access(binary, os.X_OK) else None
    return shutil.which(binary)


def check_agent(ws: Any, name: str, cfg: Any, probe: bool) -> AgentCheck:
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
        from devloop.agents.command import CommandAgent
        from devloop.confine.watch import SandboxUnavailable

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
        check.ok, check.detail = _probe(ws, name, cfg)
    return check


def _box(ws: Any, cfg: Any, where: Path | None = None) -> Any:
    """The box an agent's program runs in, as a judge (a read-only workspace: ``where``, default the workspace)."""
    from devloop.confine.reach import for_judge
    from devloop.confine.watch import Box

    return Box(ws, for_judge(where or ws.root), cfg.sandbox or ws.config.sandbox, cfg.writable, say=False)


def sandbox_status(ws: Any) -> dict[str, Any]:
    """How agents' programs are confined here (the workspace's ``sandbox`` setting): mode, program, why not."""
    from devloop.confine.watch import SandboxUnavailable, choose

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
    from devloop.confine import watch

    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    try:
        done, _ = watch.run(box, [path, "--version"], cwd, env, 15)
    except OSError:
        return ""
    if done.timed_out:
        return "(--version timed out)"
    return last_line(done.stdout) or last_line(done.stderr)


def _probe(ws: Any, name: str, cfg: Any) -> tuple[bool, str]:
    from devloop.agents import build_agent

    agent = build_agent(name, cfg, list(ws.config.env_allow))
    with tempfile.TemporaryDirectory(prefix="devloop-doctor-") as tmp:
        box = _box(ws, cfg, Path(tmp)) if cfg.kind == "command" else None
        request = AgentRequest(
            prompt=PROBE_PROMPT,
            workspace=Path(tmp),
            feature="doctor",
            step="doctor",
            role="probe",
            role_kind=RoleKind.JUDGE,
            call_id="probe",
            box=box,
        )
        result = agent.run(request)
    if not result.ok:
        return False, f"probe failed ({result.status.value}): {result.detail}"
    if "OK" not in result.text.upper():
        return False, f"probe answered, but not OK: {result.text.strip()[:80]!r}"
    return True, f"probe answered OK in {result.duration_s:.1f}s"


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
