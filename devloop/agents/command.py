"""An agent that is any command-line program (claude, codex, gemini, a script...).

The prompt reaches the program on stdin or in a file; the answer comes back on
stdout or in a file. The program runs in its own process group with an
allow-listed environment, so a timeout can kill everything it started and no
secret of devloop's own environment leaks to it unless the user asked for it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from devloop.agents.base import AgentRequest, AgentResult, CallStatus, RoleKind
from devloop.config.presets import PRESETS, Preset, expand, failure_lines, looks_unavailable, read_answer
from devloop.config.workspace import ensure_state_dir
from devloop.runtime.envs import allow_listed
from devloop.runtime.procs import OUTPUT_LIMIT, run_in_group
from devloop.runtime.redact import register

if TYPE_CHECKING:
    from devloop.config.models import CommandAgentConfig

MAX_ANSWER_BYTES = 10 * 1024 * 1024


class CommandAgent:
    """Runs one configured command per call; see :class:`CommandAgentConfig`."""

    runs_a_program = True  # confined by the caller's box (devloop.confine)

    def __init__(self, name: str, config: CommandAgentConfig, env_allow: Iterable[str] = ()) -> None:
        self.name = name
        self.config = config
        self.model = config.model
        self.env_allow = tuple(env_allow)
        self.preset: Preset | None = PRESETS[config.preset] if config.preset else None

    @property
    def returns_file_blocks(self) -> bool:
        """Most CLIs edit the workspace themselves; text-only ones (llm, ``answer: text``) answer with file blocks."""
        if self.config.answer is not None:
            return self.config.answer == "text"
        return self.preset is not None and not self.preset.writes_files

    def argv_for(self, kind: RoleKind) -> list[str]:
        if self.preset is not None:
            return expand(self.preset, kind is RoleKind.JUDGE, self.model, list(self.config.args))
        return list(self.config.argv or [])

    def run(self, request: AgentRequest) -> AgentResult:
        """Make one call; every failure becomes a result, never an exception."""
        start = time.monotonic()
        tmp = _call_dir(request)
        try:
            result = self._run_in(request, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        result.agent = self.name
        result.model = self.model
        result.duration_s = time.monotonic() - start
        return result

    def _run_in(self, request: AgentRequest, tmp: Path) -> AgentResult:
        cfg = self.config
        prompt_file = tmp / "prompt.md"
        output_file = tmp / "answer.md"
        prompt_file.write_text(request.prompt, encoding="utf-8")
        values = {"{prompt_file}": str(prompt_file), "{output_file}": str(output_file), "{model}": cfg.model or ""}
        argv = [_substitute(arg, values) for arg in self.argv_for(request.role_kind)]
        if not request.workspace.is_dir():
            return AgentResult(CallStatus.ERROR, detail=f"workspace is not a directory: {request.workspace}")
        prompt_mode = self.preset.prompt if self.preset else cfg.prompt
        output_mode = self.preset.output if self.preset else cfg.output
        env = self._environment(request, prompt_file, output_file)
        try:
            if request.box is not None:
                argv = request.box.wrap(argv, request.workspace, env, tmp)
            done = run_in_group(
                argv,
                request.workspace,
                env,
                cfg.timeout,
                request.prompt.encode("utf-8") if prompt_mode == "stdin" else None,
                limit=MAX_ANSWER_BYTES if output_mode == "stdout" else OUTPUT_LIMIT,
                stop_on_overflow=output_mode == "stdout",
            )
        except (FileNotFoundError, PermissionError):
            fix = f"install {argv[0]} or fix agents.{self.name} (not found on PATH, or not executable)"
            return AgentResult(CallStatus.UNAVAILABLE, detail=f"command not found: {argv[0]}", fix=fix)
        except OSError as exc:
            return AgentResult(CallStatus.UNAVAILABLE, detail=f"cannot start {argv[0]}: {exc.strerror or exc}")
        if done.timed_out:
            detail = f"timed out after {cfg.timeout:g}s (process group killed)"
            return AgentResult(CallStatus.UNAVAILABLE, detail=detail)
        if done.overflow and output_mode == "stdout":
            detail = "answer larger than 10 MB"
            return AgentResult(CallStatus.ERROR, detail=detail, malformed=True)
        out, err = done.stdout, done.stderr
        code = done.returncode
        seen = (out + b"\n" + err).decode("utf-8", errors="replace")
        if code != 0 or self._fails_despite_exit_0(seen):
            why = failure_lines(err.decode("utf-8", errors="replace")) or failure_lines(
                out.decode("utf-8", errors="replace")
            )
            detail = f"exited with code {code}: {why}" if why else f"exited with code {code}"
            return AgentResult(self._classify(seen), detail=detail, exit_code=code)

        raw = out if output_mode == "stdout" else _read_capped(output_file)
        if len(raw) > MAX_ANSWER_BYTES:
            return AgentResult(CallStatus.ERROR, detail="answer larger than 10 MB", exit_code=code, malformed=True)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return AgentResult(CallStatus.ERROR, detail="answer is not valid UTF-8", exit_code=code, malformed=True)
        usage: dict[str, int | float | None] = {}
        if self.preset is not None:
            reading = read_answer(self.preset.answer, text, out.decode("utf-8", errors="replace"))
            usage = reading.usage
            if reading.error is not None:
                status = self._classify(reading.error)
                return AgentResult(status, detail=f"{argv[0]}: {reading.error}", exit_code=code, usage=usage)
            text = reading.text
        if not text.strip() and request.role_kind is not RoleKind.AUTHOR:
            return AgentResult(
                CallStatus.ERROR, detail="exited 0 but the answer was empty", exit_code=code, malformed=True
            )
        return AgentResult(CallStatus.ANSWERED, text=text, exit_code=code, usage=usage)

    def _fails_despite_exit_0(self, output: str) -> bool:
        signatures = self.preset.failure_when_exit_0 if self.preset else ()
        low = output.lower()
        return any(s in low for s in signatures)

    def _classify(self, output: str) -> CallStatus:
        """Not logged in, no network, quota: the agent is unavailable (retry, substitute); else an error."""
        return CallStatus.UNAVAILABLE if looks_unavailable(self.preset, output) else CallStatus.ERROR

    def _environment(self, request: AgentRequest, prompt_file: Path, output_file: Path) -> dict[str, str]:
        """Allow-listed names from our environment, then the config's values, then the call's."""
        env = allow_listed((*self.config.env_allow, *self.env_allow), self.config.env)
        register(self.config.env)  # a key given in the config is as secret as one in the environment
        env.update(
            DEVLOOP_STEP=request.step,
            DEVLOOP_FEATURE=request.feature,
            DEVLOOP_ROLE=request.role,
            DEVLOOP_ROUND=str(request.round),
            DEVLOOP_WORKSPACE=str(request.workspace.resolve()),
            DEVLOOP_OUTPUT_FILE=str(output_file),
            DEVLOOP_PROMPT_FILE=str(prompt_file),
            DEVLOOP_CALL_ID=request.call_id,
        )
        return env


def _call_dir(request: AgentRequest) -> Path:
    """The call's own folder for the prompt and answer files.

    A confined call's lies under ``.devloop/calls/``, which every other
    confined program sees read-only: no agent can write another call's
    answer.
    """
    if request.box is None:
        return Path(tempfile.mkdtemp(prefix="devloop-agent-"))

    calls = ensure_state_dir(request.workspace) / "calls"
    calls.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{request.step}-", dir=calls))


def _substitute(arg: str, values: dict[str, str]) -> str:
    """Plain replacement: arguments may contain other braces (JSON, shell snippets)."""
    for placeholder, value in values.items():
        arg = arg.replace(placeholder, value)
    return arg


def _read_capped(path: Path) -> bytes:
    """The answer file, read at most one byte past the cap; a missing file is an empty answer."""
    try:
        with path.open("rb") as f:
            return f.read(MAX_ANSWER_BYTES + 1)
    except OSError:
        return b""
