"""CommandAgent against real subprocesses: the scripted fakes in tests/fakes."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from devloop.agents.base import AgentRequest, CallStatus, RoleKind
from devloop.agents.command import CommandAgent
from devloop.config.models import CommandAgentConfig

FAKES = Path(__file__).parent / "fakes"
FAKE = str(FAKES / "fake_agent.py")
PROMPT = 'Review the plan.\n{"json": {"braces": true}} and unicode: é ✓\n'


def request(workspace: Path, kind: RoleKind = RoleKind.JUDGE, prompt: str = PROMPT, **kw) -> AgentRequest:
    fields = {"feature": "login-page", "step": "plan_review", "role": "plan_reviewer", "call_id": "round2-review"}
    fields = {**fields, "round": 2, **kw}
    return AgentRequest(prompt=prompt, workspace=workspace, role_kind=kind, **fields)


def agent(argv: list[str], caller_allow: tuple[str, ...] = (), **config) -> CommandAgent:
    """A CommandAgent named "fake"; ``caller_allow`` is the constructor's env_allow, ``config`` the YAML's fields."""
    return CommandAgent("fake", CommandAgentConfig(kind="command", argv=argv, **config), env_allow=caller_allow)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    return workspace


@pytest.fixture
def script(tmp_path: Path):
    """Write a FAKE_AGENT_SCRIPT; returns (env for the config, path of the call log)."""
    log = tmp_path / "logs" / "calls.jsonl"
    log.parent.mkdir()

    def write(actions: dict) -> dict[str, str]:
        path = tmp_path / "script.json"
        path.write_text(json.dumps(actions), encoding="utf-8")
        return {"FAKE_AGENT_SCRIPT": str(path), "FAKE_AGENT_LOG": str(log)}

    write.log = log
    return write


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def gone(pid: int, within: float = 5.0) -> bool:
    """True once the process no longer exists or is only a zombie waiting to be reaped."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


def read_pid(path: Path, within: float = 5.0) -> int:
    deadline = time.monotonic() + within
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(path.read_text())


# --- how the prompt goes in and the answer comes out ---------------------------------------------


def test_prompt_on_stdin_answer_on_stdout(ws, script):
    env = script({"plan_review": {"answer": "VOTE: PRODUCTION GRADE\n"}})
    result = agent([FAKE], env=env, model="m-1").run(request(ws))
    assert result.status is CallStatus.ANSWERED, result.detail
    assert result.text == "VOTE: PRODUCTION GRADE\n"
    assert (result.agent, result.model, result.exit_code) == ("fake", "m-1", 0)
    assert result.duration_s > 0  # recorded; how long it took is no test's business
    assert (script.log.parent / "last-prompt-plan_review.txt").read_text(encoding="utf-8") == PROMPT


def test_prompt_file_and_output_file_placeholders(ws, script):
    env = script({"plan_review": {"answer": "from the file"}})
    argv = [FAKE, "--prompt-file", "{prompt_file}", "--output-file", "{output_file}", "--model={model}", '{"x": 1}']
    result = agent(argv, env=env, prompt="file", output="file", model="big-model").run(request(ws))
    assert result.status is CallStatus.ANSWERED, result.detail
    assert result.text == "from the file"
    assert (script.log.parent / "last-prompt-plan_review.txt").read_text(encoding="utf-8") == PROMPT
    [call] = calls(script.log)
    args = call["argv"][1:]
    assert args[1] == call["devloop_env"]["DEVLOOP_PROMPT_FILE"]
    assert args[3] == call["devloop_env"]["DEVLOOP_OUTPUT_FILE"]
    assert args[4:] == ["--model=big-model", '{"x": 1}']  # other braces are left alone
    assert not Path(args[1]).parent.exists()  # the private temp dir is removed


def test_file_mode_has_empty_stdin_and_stdout_is_ignored(ws):
    code = "import sys; print('chatter'); open(sys.argv[1], 'w').write(sys.stdin.read() or 'empty')"
    argv = [sys.executable, "-c", code]
    result = agent([*argv, "{output_file}", "{prompt_file}"], prompt="file", output="file").run(request(ws))
    assert result.status is CallStatus.ANSWERED, result.detail
    assert result.text == "empty"


def test_missing_output_file_is_an_empty_answer(ws):
    result = agent(["true", "{output_file}"], output="file").run(request(ws))
    assert result.status is CallStatus.ERROR
    assert result.detail == "exited 0 but the answer was empty"


# --- environment and working directory -----------------------------------------------------------


def test_environment_is_an_allow_list(ws, script, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("ALLOWED_BY_CONFIG", "a")
    monkeypatch.setenv("ALLOWED_BY_CALLER", "b")
    env = script({"*": {"answer": "ok"}})
    config_env = {**env, "FROM_CONFIG": "c"}
    fake = agent(
        [FAKE], caller_allow=("ALLOWED_BY_CALLER", "NOT_SET_ANYWHERE"), env=config_env, env_allow=["ALLOWED_BY_CONFIG"]
    )
    assert fake.run(request(ws)).ok
    [call] = calls(script.log)
    assert "SECRET_TOKEN" not in call["env"]
    assert "NOT_SET_ANYWHERE" not in call["env"]
    assert {"PATH", "ALLOWED_BY_CONFIG", "ALLOWED_BY_CALLER", "FROM_CONFIG"} <= set(call["env"])
    assert call["devloop_env"] == {
        "DEVLOOP_STEP": "plan_review",
        "DEVLOOP_FEATURE": "login-page",
        "DEVLOOP_ROLE": "plan_reviewer",
        "DEVLOOP_ROUND": "2",
        "DEVLOOP_WORKSPACE": str(ws.resolve()),
        "DEVLOOP_CALL_ID": "round2-review",
        "DEVLOOP_OUTPUT_FILE": call["devloop_env"]["DEVLOOP_OUTPUT_FILE"],
        "DEVLOOP_PROMPT_FILE": call["devloop_env"]["DEVLOOP_PROMPT_FILE"],
    }
    expected = ["plan_review", "login-page", "plan_reviewer", "2"]
    assert [call[k] for k in ("step", "feature", "role", "round")] == expected


def test_secret_passes_when_allowed(ws, script, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    env = script({"*": {"answer": "ok"}})
    assert agent([FAKE], env=env, env_allow=["SECRET_TOKEN"]).run(request(ws)).ok
    assert "SECRET_TOKEN" in calls(script.log)[0]["env"]


def test_author_runs_in_workspace_and_writes_files(ws, script):
    env = script(
        {
            "login-page/implement/impl-1": {"write": {"src/app.py": "print('hi')\n", "run.sh": "#!/bin/sh\n"}},
            "implement": {"answer": "wrong key", "exit": 9},
        }
    )
    req = request(ws, RoleKind.AUTHOR, step="implement", role="implementer", call_id="impl-1")
    result = agent([FAKE], env=env).run(req)
    assert result.status is CallStatus.ANSWERED, result.detail
    assert result.text == ""  # authors may answer nothing: their work is the files
    assert calls(script.log)[0]["cwd"] == str(ws.resolve())
    assert (ws / "src" / "app.py").read_text() == "print('hi')\n"
    assert os.access(ws / "run.sh", os.X_OK)


# --- timeouts kill the whole process group -------------------------------------------------------


def test_timeout_kills_the_grandchild(ws, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    result = agent([str(FAKES / "hang.py"), str(pid_file)], timeout=1).run(request(ws))
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail == "timed out after 1s (process group killed)"
    assert gone(read_pid(pid_file))


def test_timeout_kills_a_grandchild_that_ignores_sigterm(ws, tmp_path):
    pid_file = tmp_path / "stubborn.pid"
    shell = f"trap '' TERM; sleep 100 & echo $! > {pid_file}; sleep 100"
    result = agent(["sh", "-c", shell], timeout=0.5).run(request(ws))
    assert result.status is CallStatus.UNAVAILABLE
    assert "timed out after 0.5s" in result.detail
    assert gone(read_pid(pid_file))


def test_timeout_returns_even_if_an_escaped_process_holds_stdout(ws, tmp_path):
    pid_file = tmp_path / "escaped.pid"
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
        "open(sys.argv[1], 'w').write(str(p.pid))\n"
        "time.sleep(100)\n"
    )
    try:
        result = agent([sys.executable, "-c", code, str(pid_file)], timeout=0.5).run(request(ws))
        assert result.status is CallStatus.UNAVAILABLE
        assert not gone(read_pid(pid_file), within=0)  # still holding stdout: the call did not wait for it
    finally:
        if pid_file.exists():
            os.kill(read_pid(pid_file), signal.SIGKILL)  # it left our group on purpose: clean up


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv0", ["devloop-no-such-agent-cli", "/nonexistent/bin/agent"])
def test_missing_binary_is_unavailable(ws, argv0):
    result = agent([argv0, "-p"]).run(request(ws))
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail == f"command not found: {argv0}"
    assert result.agent == "fake"


def test_non_executable_file_is_unavailable(ws, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program")
    result = agent([str(plain)]).run(request(ws))
    assert result.status is CallStatus.UNAVAILABLE
    assert str(plain) in result.detail


def test_not_logged_in_is_unavailable_with_the_last_stderr_line(ws):
    big_prompt = "x" * 1_000_000  # the program never reads stdin: no broken-pipe crash
    result = agent([str(FAKES / "not_logged_in.py")]).run(request(ws, prompt=big_prompt))
    assert result.status is CallStatus.UNAVAILABLE  # a login problem: retry or substitute, not a code bug
    assert result.exit_code == 1
    assert result.detail == "exited with code 1: Error: not logged in. Run `login` first."


def test_long_stderr_line_is_shortened(ws, script):
    env = script({"*": {"stderr": "first line\n" + "y" * 1000 + "\n\n", "exit": 2}})
    result = agent([FAKE], env=env).run(request(ws))
    assert result.status is CallStatus.ERROR
    assert result.detail.startswith("exited with code 2: yyy")
    assert len(result.detail) < 250


def test_unscripted_call_is_an_error(ws, script):
    env = script({"other_step": {"answer": "no"}})
    result = agent([FAKE], env=env).run(request(ws))
    assert result.status is CallStatus.ERROR
    assert "exited with code 3: fake_agent: no action" in result.detail


@pytest.mark.parametrize(
    ("kind", "status"), [(RoleKind.JUDGE, CallStatus.ERROR), (RoleKind.AUTHOR, CallStatus.ANSWERED)]
)
def test_empty_answer_is_an_error_only_for_judges(ws, script, kind, status):
    env = script({"*": {"answer": "  \n\t\n"}})
    result = agent([FAKE], env=env).run(request(ws, kind))
    assert result.status is status
    if status is CallStatus.ERROR:
        assert result.detail == "exited 0 but the answer was empty"


def test_invalid_utf8_is_an_error(ws):
    result = agent([str(FAKES / "garbage.py")]).run(request(ws))
    assert result.status is CallStatus.ERROR
    assert result.detail == "answer is not valid UTF-8"
    assert result.exit_code == 0


@pytest.mark.parametrize("output", ["stdout", "file"])
def test_answer_over_10_mb_is_an_error(ws, output):
    code = "import sys; out = open(sys.argv[1], 'w') if sys.argv[1:] else sys.stdout; out.write('a' * (10 * 2**20 + 1))"
    argv = [sys.executable, "-c", code] + (["{output_file}"] if output == "file" else [])
    result = agent(argv, output=output).run(request(ws))
    assert result.status is CallStatus.ERROR
    assert result.detail == "answer larger than 10 MB"


def test_missing_workspace_is_an_error(tmp_path):
    result = agent(["true"]).run(request(tmp_path / "missing"))
    assert result.status is CallStatus.ERROR
    assert "workspace" in result.detail
