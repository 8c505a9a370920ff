"""Presets of real agent CLIs, exercised through fake executables that replay the real CLIs' recorded output."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from devloop.agents.base import AgentRequest, CallStatus, RoleKind
from devloop.agents.command import CommandAgent
from devloop.config.load import parse_config

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
REPLAY = Path(__file__).parent / "fakes" / "cli_replay.py"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install a fake `<name>` on PATH replaying ``spec``; return a function making the agent."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    log = tmp_path / "calls.jsonl"

    def make(name: str, spec: dict[str, Any], **agent: Any) -> CommandAgent:
        shutil.copy(REPLAY, bindir / name)
        (bindir / name).chmod(0o755)
        spec_path = tmp_path / f"{name}.json"
        spec_path.write_text(json.dumps(spec))
        fields = {"kind": "command", "preset": name, "timeout": 10, **agent}
        fields["env"] = {"CLI_REPLAY": str(spec_path), "CLI_REPLAY_LOG": str(log)}
        cfg = parse_config(json.dumps({"agents": {"x": fields}})).agents["x"]
        return CommandAgent("x", cfg)

    make.log = log  # type: ignore[attr-defined]
    make.calls = lambda: [json.loads(line) for line in log.read_text().splitlines()]  # type: ignore[attr-defined]
    return make


def req(tmp_path: Path, kind: RoleKind = RoleKind.JUDGE) -> AgentRequest:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    return AgentRequest("Review this.", ws, "f", "code_review", "reviewers", kind, "round1-x")


def recorded(name: str, case: str) -> dict[str, Any]:
    meta = json.loads((FIXTURES / name / f"{case}.json").read_text())
    return {
        "stdout_file": str(FIXTURES / name / f"{case}.stdout"),
        "stderr_file": str(FIXTURES / name / f"{case}.stderr"),
        "exit": meta["exit_code"],
    }


def test_claude_not_logged_in_is_unavailable(cli: Any, tmp_path: Path) -> None:
    result = cli("claude", recorded("claude", "judge_plan_json")).run(req(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE
    assert "Not logged in" in result.detail


def test_claude_success_reads_result_cost_and_tokens(cli: Any, tmp_path: Path) -> None:
    answer = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "Looks right.\nVOTE: PRODUCTION GRADE",
        "total_cost_usd": 0.0421,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 25},
    }
    agent = cli("claude", {"stdout": json.dumps(answer)}, model="claude-opus-4-8")
    result = agent.run(req(tmp_path))
    assert result.status is CallStatus.ANSWERED and result.text.endswith("VOTE: PRODUCTION GRADE")
    assert result.usage == {"tokens_in": 100, "tokens_out": 25, "cost_usd": 0.0421}
    argv = cli.calls()[0]["argv"]
    assert argv[:4] == ["claude", "-p", "--output-format", "json"]
    assert ["--model", "claude-opus-4-8"] == argv[4:6]
    assert argv[argv.index("--permission-mode") + 1] == "plan"  # judges may not edit
    assert cli.calls()[0]["stdin"] == "Review this."


def test_claude_author_may_edit(cli: Any, tmp_path: Path) -> None:
    ok = {"type": "result", "subtype": "success", "is_error": False, "result": "done", "usage": {}}
    cli("claude", {"stdout": json.dumps(ok)}).run(req(tmp_path, RoleKind.AUTHOR))
    argv = cli.calls()[0]["argv"]
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert "Edit" in argv[argv.index("--allowedTools") + 1]


def test_claude_printing_no_json_is_an_error_not_a_pass(cli: Any, tmp_path: Path) -> None:
    result = cli("claude", {"stdout": "VOTE: PRODUCTION GRADE\n"}).run(req(tmp_path))
    assert result.status is CallStatus.ERROR and "did not print a JSON result" in result.detail


def test_codex_not_in_a_trusted_directory_is_unavailable(cli: Any, tmp_path: Path) -> None:
    result = cli("codex", recorded("codex", "exec_norepo")).run(req(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE


def test_codex_offline_hangs_until_the_timeout_kills_it(cli: Any, tmp_path: Path) -> None:
    spec = {**recorded("codex", "exec_json"), "sleep": 30}
    result = cli("codex", spec, timeout=1).run(req(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE and "timed out after 1s" in result.detail


def test_codex_answer_comes_from_the_output_file_and_usage_from_events(cli: Any, tmp_path: Path) -> None:
    events = [
        {"type": "thread.started", "thread_id": "t"},
        {"type": "turn.completed", "usage": {"input_tokens": 1200, "cached_input_tokens": 1000, "output_tokens": 80}},
    ]
    spec = {"stdout": "\n".join(json.dumps(e) for e in events), "output_flag": "-o", "output_text": "VERDICT: APPROVE"}
    result = cli("codex", spec, model="gpt-5.3-codex").run(req(tmp_path))
    assert result.status is CallStatus.ANSWERED and result.text == "VERDICT: APPROVE"
    assert result.usage == {"tokens_in": 1200, "tokens_out": 80, "cost_usd": None}
    argv = cli.calls()[0]["argv"]
    assert argv[argv.index("--sandbox") + 1] == "read-only"
    assert "--skip-git-repo-check" in argv and argv[-1] == "-" and ["-m", "gpt-5.3-codex"] == argv[2:4]
    cli("codex", spec).run(req(tmp_path, RoleKind.AUTHOR))
    argv = cli.calls()[1]["argv"]
    assert argv[argv.index("--sandbox") + 1] == "workspace-write"


def test_aider_exiting_0_after_an_auth_error_is_not_an_answer(cli: Any, tmp_path: Path) -> None:
    out = "Aider v0.86\nlitellm.AuthenticationError: AnthropicException - invalid x-api-key\n"
    result = cli("aider", {"stdout": out, "exit": 0}).run(req(tmp_path, RoleKind.AUTHOR))
    assert result.status is CallStatus.UNAVAILABLE
    assert "--message-file" in cli.calls()[0]["argv"]


def test_llm_is_text_only_so_authors_answer_with_file_blocks(cli: Any, tmp_path: Path) -> None:
    agent = cli("llm", {"stdout": "```file=src/a.py\nprint(1)\n```\n"}, model="gpt-4o-mini")
    assert agent.returns_file_blocks
    result = agent.run(req(tmp_path, RoleKind.AUTHOR))
    assert result.ok and "file=src/a.py" in result.text
    assert cli.calls()[0]["argv"] == ["llm", "prompt", "-m", "gpt-4o-mini", "--no-stream", "--no-log"]


def test_gemini_json_error_and_success(cli: Any, tmp_path: Path) -> None:
    err = {"error": {"type": "Error", "message": "Please set an Auth method in your settings.json or GEMINI_API_KEY"}}
    result = cli("gemini", {"stdout": json.dumps(err), "exit": 1}).run(req(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE
    good = {"response": "VOTE: NEEDS WORK", "stats": {"models": {"g": {"tokens": {"prompt": 50, "candidates": 7}}}}}
    result = cli("gemini", {"stdout": json.dumps(good)}).run(req(tmp_path))
    assert result.ok and result.text == "VOTE: NEEDS WORK" and result.usage["tokens_in"] == 50


def test_a_generic_command_is_classified_by_its_output(cli: Any, tmp_path: Path) -> None:
    agent = cli("claude", {"stderr": "curl: (6) Could not resolve host: api.example.com\n", "exit": 6})
    assert agent.run(req(tmp_path)).status is CallStatus.UNAVAILABLE
    agent = cli("claude", {"stderr": "Traceback: KeyError 'x'\n", "exit": 1})
    assert agent.run(req(tmp_path)).status is CallStatus.ERROR


@pytest.mark.parametrize(
    ("name", "case"),
    [
        ("gemini", "judge_plan_json"),  # exit 41: no auth method
        ("gemini", "dummy_api_key_json_long"),  # offline: fetch failed after minutes of retries
        ("llm", "dummy_key_text"),
        ("llm", "prompt_stdin"),  # no key found
        ("aider", "judge_ask_nokey"),  # exit 0 with an authentication error
        ("aider", "author_dummy_key_long"),  # exit 0 after a connection error
        ("claude", "print_text"),
        ("codex", "exec_norepo"),
    ],
)
def test_recorded_failures_of_the_real_clis_are_unavailable(cli: Any, tmp_path: Path, name: str, case: str) -> None:
    """What each real CLI printed here when it could not work: never an answer, always 'unavailable'."""
    result = cli(name, recorded(name, case)).run(req(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE, result.detail


@pytest.mark.parametrize(
    "stderr",
    [
        "Error: Error code: 500 - {'error': {'message': 'upstream exploded', 'code': '500'}}\n",
        "Error: Error code: 503 - {'error': {'message': 'no healthy deployments'}}\n",
        "Traceback (most recent call last):\n  ...\nopenai.APIConnectionError: Connection error.\n",
        "Error: Request timed out.\n",
        "request failed: HTTP/1.1 502\n",
    ],
    ids=["500", "503", "connection", "timeout", "502"],
)
def test_llm_failing_on_a_transient_server_error_is_unavailable(cli: Any, tmp_path: Path, stderr: str) -> None:
    """The rotation and the substitutes take over, as they do when an openai agent meets the same server."""
    result = cli("llm", {"stderr": stderr, "exit": 1}, model="m").run(req(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE, result.detail
    assert result.detail.startswith("exited with code 1: ")


def test_llm_refused_for_a_bad_request_is_an_error_and_the_detail_keeps_the_status(cli: Any, tmp_path: Path) -> None:
    stderr = (
        "Error: Error code: 400 - {'error': {'message': 'Invalid model name passed in model=nope',\n"
        "'type': 'invalid_request_error'}}\n"
        "Details were printed above.\n"
    )
    result = cli("llm", {"stderr": stderr, "exit": 1}, model="nope").run(req(tmp_path))
    assert result.status is CallStatus.ERROR
    assert result.detail == (
        "exited with code 1: Error: Error code: 400 - {'error': {'message': 'Invalid model name passed in model=nope',"
        " | 'type': 'invalid_request_error'}}"
    )


def test_a_missing_program_names_what_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    cfg = parse_config(json.dumps({"agents": {"x": {"kind": "command", "preset": "llm"}}})).agents["x"]
    result = CommandAgent("x", cfg).run(req(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE and result.detail == "command not found: llm"
    assert result.fix == "install llm or fix agents.x (not found on PATH, or not executable)"
