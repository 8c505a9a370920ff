"""Known agent CLIs as data: their non-interactive flags, answer format and failure signatures.

A preset has one command line for judges (read-only: they answer with text)
and one for authors (they edit the workspace). ``{model_args}`` expands to the
model flag when the agent config names a model. Checked against the real CLIs
installed from the registries; their recorded outputs live in
tests/fixtures/cli/.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Output that means the agent could not work at all (retry / substitute), in any CLI.
GENERIC_UNAVAILABLE = (
    "not logged in",
    "please run /login",
    "please log in",
    "login required",
    "authentication",
    "unauthorized",
    "api key",
    "api_key",
    "auth method",
    "credentials",
    "quota",
    "rate limit",
    "429",
    "insufficient_quota",
    "failed to lookup address",
    "name does not resolve",
    "could not resolve host",
    "getaddrinfo",
    "enotfound",
    "econnrefused",
    "econnreset",
    "network is unreachable",
    "waiting for network",
    "connection refused",
    "connection error",
    "overloaded",
    "servers are down",
    # what the openai and anthropic Python clients (llm, aider, ...) name an HTTP 429/5xx or a lost server
    "ratelimiterror",
    "internalservererror",
    "apiconnectionerror",
    "apitimeouterror",
    "serviceunavailable",
    "service unavailable",
    "internal server error",
    "bad gateway",
    "gateway timeout",
    "request timed out",
)
# "Error code: 503", "status 429", "HTTP 502", "status_code=500": a transient HTTP status, however printed.
TRANSIENT_STATUS = re.compile(
    r"(?i)\b(?:error[ _]code|status(?:[ _]code)?|http(?:/[\d.]+)?)\s*[:=]?\s*(?:408|429|5\d\d)\b"
)
# Lines worth keeping in a failure's detail: they say what went wrong (and carry any status code).
_ERROR_LINE = re.compile(r"(?i)error|fail|denied|refused|unauthori[sz]ed|forbidden|not found|timed? ?out|\b[45]\d\d\b")


@dataclass(frozen=True)
class Preset:
    judge: tuple[str, ...]
    author: tuple[str, ...]
    prompt: str = "stdin"  # or "file": the argv holds {prompt_file}
    output: str = "stdout"  # or "file": the argv holds {output_file}
    answer: str = "text"  # how to read the answer: text, claude-json, gemini-json, codex-events, opencode-events
    model_args: tuple[str, ...] = ("--model", "{model}")
    writes_files: bool = True  # False: authors answer with ```file=path blocks instead
    unavailable: tuple[str, ...] = ()
    failure_when_exit_0: tuple[str, ...] = ()  # CLIs that exit 0 on failure (aider)
    version: tuple[str, ...] = ("--version",)
    notes: str = field(default="", compare=False)


PRESETS: dict[str, Preset] = {
    "codex": Preset(
        judge=(
            "codex", "exec", "{model_args}", "--sandbox", "read-only", "--skip-git-repo-check", "--ephemeral",
            "--color", "never", "--json", "-o", "{output_file}", "-",
        ),
        author=(
            "codex", "exec", "{model_args}", "--sandbox", "workspace-write", "--skip-git-repo-check", "--ephemeral",
            "--color", "never", "--json", "-o", "{output_file}", "-",
        ),
        output="file",
        answer="codex-events",
        model_args=("-m", "{model}"),
        unavailable=("not inside a trusted directory", "unexpected status 401", "missing optional dependency"),
        notes="0.169: --full-auto is gone (exec never asks); offline it retries forever, so the timeout ends it",
    ),
    "claude": Preset(
        judge=(
            "claude", "-p", "--output-format", "json", "{model_args}", "--permission-mode", "plan",
            "--tools", "Read,Glob,Grep", "--no-session-persistence",
        ),
        author=(
            "claude", "-p", "--output-format", "json", "{model_args}", "--permission-mode", "acceptEdits",
            "--allowedTools", "Read Edit Write Glob Grep Bash", "--no-session-persistence",
        ),
        answer="claude-json",
        unavailable=("unable to connect to api",),
        notes="2.1: is_error can be true while subtype says success; --dangerously-skip-permissions refused as root",
    ),
    "gemini": Preset(
        judge=("gemini", "--skip-trust", "--approval-mode", "plan", "-o", "json", "{model_args}"),
        author=("gemini", "--skip-trust", "--approval-mode", "auto_edit", "-o", "json", "{model_args}"),
        answer="gemini-json",
        model_args=("-m", "{model}"),
        unavailable=("fetch failed",),
        notes="0.61: no auth exits 41; an untrusted folder exits 55 without --skip-trust; errors are JSON on stderr",
    ),
    "opencode": Preset(
        judge=("opencode", "run", "--format", "json", "--agent", "plan", "{model_args}"),
        author=("opencode", "run", "--format", "json", "{model_args}"),
        answer="opencode-events",
        model_args=("-m", "{model}"),
        notes="1.18: with no provider configured it falls back to a hosted model; set model: provider/model",
    ),
    "llm": Preset(
        judge=("llm", "prompt", "{model_args}", "--no-stream", "--no-log"),
        author=("llm", "prompt", "{model_args}", "--no-stream", "--no-log"),
        model_args=("-m", "{model}"),
        writes_files=False,
        unavailable=("no key found",),
    ),
    "aider": Preset(
        judge=(
            "aider", "{model_args}", "--chat-mode", "ask", "--message-file", "{prompt_file}", "--yes-always",
            "--no-auto-commits", "--no-dirty-commits", "--no-stream", "--no-pretty", "--no-check-update",
            "--no-analytics", "--no-show-release-notes", "--no-fancy-input", "--no-gitignore",
            "--no-show-model-warnings",
        ),
        author=(
            "aider", "{model_args}", "--message-file", "{prompt_file}", "--yes-always", "--no-auto-commits",
            "--no-dirty-commits", "--no-stream", "--no-pretty", "--no-check-update", "--no-analytics",
            "--no-show-release-notes", "--no-fancy-input", "--no-gitignore", "--no-show-model-warnings",
        ),
        prompt="file",
        failure_when_exit_0=("authenticationerror", "litellm.", "connection error."),
        notes="0.86: exits 0 when the model call failed, so its output decides; -m means --message",
    ),
}  # fmt: skip

PROMPT_FILE_NOTE = "Follow the instructions in the attached prompt (also on standard input, if any)."


def expand(preset: Preset, judge: bool, model: str | None, extra: list[str]) -> list[str]:
    out: list[str] = []
    for arg in preset.judge if judge else preset.author:
        if arg == "{model_args}":
            out += [a.replace("{model}", model) for a in preset.model_args] if model else []
        elif arg == "{prompt_file_note}":
            out.append(PROMPT_FILE_NOTE)
        else:
            out.append(arg)
    return out + list(extra)


@dataclass
class Reading:
    """What a preset's output says: the answer, usage, or why it failed."""

    text: str
    usage: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def read_answer(kind: str, raw: str, stdout: str) -> Reading:
    """Turn a CLI's output into the answer. ``raw`` is the answer channel (stdout or the output file)."""
    if kind == "claude-json":
        return _claude(raw)
    if kind == "gemini-json":
        return _gemini(raw)
    if kind == "codex-events":
        return Reading(raw, _codex_usage(stdout))
    if kind == "opencode-events":
        return _opencode(raw)
    return Reading(raw)


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _claude(raw: str) -> Reading:
    data = _json(raw)
    if not isinstance(data, dict):
        return Reading("", error="claude did not print a JSON result")
    usage = data.get("usage") or {}
    tokens_in = sum(
        int(usage.get(k) or 0) for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    counted = {"tokens_in": tokens_in, "tokens_out": usage.get("output_tokens"), "cost_usd": data.get("total_cost_usd")}
    if data.get("is_error") or data.get("subtype") not in (None, "success"):
        return Reading("", counted, str(data.get("result") or data.get("subtype") or "claude reported an error"))
    return Reading(str(data.get("result") or ""), counted)


def _gemini(raw: str) -> Reading:
    data = _json(raw)
    if not isinstance(data, dict):
        return Reading("", error="gemini did not print a JSON result")
    if data.get("error"):
        err = data["error"]
        return Reading("", error=str(err.get("message") if isinstance(err, dict) else err))
    tokens_in = tokens_out = 0
    for model in ((data.get("stats") or {}).get("models") or {}).values():
        tokens = model.get("tokens") or {}
        tokens_in += int(tokens.get("prompt") or 0)
        tokens_out += int(tokens.get("candidates") or 0)
    usage = {"tokens_in": tokens_in or None, "tokens_out": tokens_out or None, "cost_usd": None}
    return Reading(str(data.get("response") or ""), usage)


def _events(raw: str) -> list[dict[str, Any]]:
    out = []
    for line in raw.splitlines():
        event = _json(line)
        if isinstance(event, dict):
            out.append(event)
    return out


def _codex_usage(stdout: str) -> dict[str, Any]:
    tokens_in = tokens_out = None
    for event in _events(stdout):
        usage = event.get("usage") if event.get("type") == "turn.completed" else None
        if isinstance(usage, dict):
            tokens_in = (tokens_in or 0) + int(usage.get("input_tokens") or 0)
            tokens_out = (tokens_out or 0) + int(usage.get("output_tokens") or 0)
    return {"tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": None}


def _opencode(raw: str) -> Reading:
    texts, errors = [], []
    for event in _events(raw):
        part = event.get("part") or {}
        if event.get("type") == "text" and isinstance(part, dict) and part.get("text"):
            texts.append(str(part["text"]))
        if event.get("type") == "error":
            errors.append(
                str(
                    (event.get("error") or {}).get("message")
                    if isinstance(event.get("error"), dict)
                    else event.get("error")
                )
            )
    if errors and not texts:
        return Reading("", error="; ".join(errors))
    return Reading("".join(texts), {"tokens_in": None, "tokens_out": None, "cost_usd": None})


def looks_unavailable(preset: Preset | None, output: str) -> bool:
    low = output.lower()
    signatures = GENERIC_UNAVAILABLE + (preset.unavailable if preset else ())
    return any(s in low for s in signatures) or TRANSIENT_STATUS.search(output) is not None


def failure_lines(text: str, keep: int = 3, width: int = 200) -> str:
    """Why a program failed, in its own words: its last few error lines (each shortened), else its last line."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    picked = [line for line in lines if _ERROR_LINE.search(line)][-keep:] or lines[-1:]
    return " | ".join(line if len(line) <= width else line[: width - 1] + "…" for line in picked)
