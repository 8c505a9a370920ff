"""devloop doctor: which agents can run, which roles are covered; probes only on request."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.chat_server import ChatServer, chat_server_fixture  # noqa: F401  (registers `chat_server`)
from tests.conftest import FAKE_AGENT, WS


def test_doctor_finds_missing_binaries_and_keys_without_calling_anyone(ws: WS, chat_server: ChatServer) -> None:
    (ws.root / "devloop.yaml").write_text(
        "agents:\n"
        f"  fake: {{kind: command, argv: [{sys.executable}, {FAKE_AGENT}]}}\n"
        "  ghost: {kind: command, argv: [no-such-agent-cli]}\n"
        f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: m, api_key_env: DOCTOR_TEST_KEY}}\n"
        "  old: {kind: replay, dir: nowhere}\n"
        "roles: {planner: ghost, plan_reviewer: fake, reviewers: [fake, proxy], evaluator: old}\n"
    )
    r = ws.devloop("doctor")
    assert r.returncode == 1
    assert "no working agent for: planner, evaluator" in r.stderr
    out = r.stdout
    assert "FAIL ghost" in out and "no-such-agent-cli not found on PATH" in out
    assert "FAIL proxy" in out and "environment variable DOCTOR_TEST_KEY is not set" in out
    assert "ok   fake" in out and "[Python 3." in out  # the version came from `<binary> --version`
    assert "ok   me" in out
    assert "partial  reviewers" in out
    assert ws.calls() == [] and chat_server.requests == []


def test_doctor_says_how_agents_are_confined(ws: WS) -> None:
    """bubblewrap where it starts; with sandbox: off (or a per-agent off) the snapshot layer, said as such."""
    agent = f"{{kind: command, argv: [{sys.executable}, {FAKE_AGENT}]"
    (ws.root / "devloop.yaml").write_text(
        f"agents:\n  fake: {agent}}}\n  loose: {agent}, sandbox: off}}\nroles: {{planner: fake, reviewers: [loose]}}\n"
    )
    r = ws.devloop("doctor")
    assert "sandbox:\n  ok   bubblewrap (" in r.stdout, r.stdout
    assert "fake" in r.stdout and "confined by bubblewrap" in r.stdout
    assert "unconfined (sandbox: off)" in r.stdout  # the agent's own setting wins
    data = json.loads(ws.devloop("doctor", "--json").stdout)
    assert data["sandbox"]["mode"] == "bubblewrap" and data["sandbox"]["setting"] == "auto"
    (ws.root / "devloop.yaml").write_text(ws.read("devloop.yaml") + "sandbox: off\n")
    data = json.loads(ws.devloop("doctor", "--json").stdout)
    assert data["sandbox"] == {"ok": True, "setting": "off", "mode": "off", "program": None, "why": "sandbox: off"}


# -- --probe: a random token, repeated exactly; all agents at once under one deadline ------------------

PROBE_AGENT = """\
import re, sys, time
prompt = sys.stdin.read()
mode, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
time.sleep(seconds)
token = re.search(r"devloop-probe-[0-9a-f]+", prompt).group(0)
answers = {
    "echo": token + "\\n",
    "think": "<think>\\nThe user wants the token. OK.\\n</think>\\n\\n`" + token + "`\\n",
    "quoted": '  "' + token + '"  ',
    "wrong": "Looks good. OK\\n",
    "chatty": "Sure! Here it is: " + token + "\\n",
    "other": "devloop-probe-000000\\n",
}
sys.stdout.write(answers[mode.split("-")[0]])
"""


def _probe_agent(tmp: Path) -> Path:
    script = tmp / "probe_agent.py"
    script.write_text(PROBE_AGENT)
    return script


def _agent(script: Path, mode: str, seconds: float = 0) -> str:
    return f"{{kind: command, argv: [{sys.executable}, {script}, {mode}, '{seconds}']}}"


def _lines(out: str) -> dict[str, str]:
    """doctor's agent lines by agent name."""
    lines = {}
    for line in out.splitlines():
        m = re.match(r"  (ok  |FAIL) (\S+) ", line)
        if m:
            lines[m.group(2)] = line
    return lines


def test_probe_passes_only_an_answer_that_is_exactly_the_token(ws: WS, chat_server: ChatServer, tmp_path: Path) -> None:
    script = _probe_agent(tmp_path)
    (ws.root / "devloop.yaml").write_text(
        "agents:\n"
        + "".join(
            f"  {mode}: {_agent(script, mode)}\n" for mode in ("echo", "think", "quoted", "wrong", "chatty", "other")
        )
        + f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: m, max_retries: 0}}\n"
        "roles: {planner: echo, plan_reviewer: wrong, reviewers: [think, quoted, chatty]}\n"
    )
    chat_server.enqueue(200, ChatServer.completion("OK"))  # the old probe's answer: not the token
    r = ws.devloop("doctor", "--probe")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "no working agent for: plan_reviewer" in r.stderr  # its only agent answered, but not with the token
    lines = _lines(r.stdout)
    for name in ("echo", "think", "quoted"):
        assert lines[name].startswith(f"  ok   {name} ") and "probe answered with the token in " in lines[name]
    for name, got in (("wrong", "'Looks good. OK'"), ("other", "'devloop-probe-000000'"), ("proxy", "'OK'")):
        assert lines[name].startswith(f"  FAIL {name} "), lines[name]
        assert f"but not with the token (got: {got})" in lines[name], lines[name]
    assert lines["chatty"].startswith("  FAIL chatty ") and "(got: 'Sure! Here it is: devloop-probe-" in lines["chatty"]
    assert "partial  reviewers" in r.stdout
    assert re.search(r"probed 8 agents in [0-9.]+s \(deadline 60s\)", r.stdout)
    # what the server was asked: a fresh token, and nothing else
    asked = chat_server.requests[0].body["messages"][-1]["content"]
    first = re.search(r"Reply with exactly this token and nothing else: (devloop-probe-[0-9a-f]{6})$", asked)
    assert first, asked
    chat_server.enqueue(200, ChatServer.completion(first.group(1)))  # the last run's token is not this run's
    data = json.loads(ws.devloop("doctor", "--probe", "--json").stdout)
    assert data["agents"]["echo"]["ok"] and not data["agents"]["proxy"]["ok"]
    assert first.group(1) not in chat_server.requests[1].body["messages"][-1]["content"]
    assert data["probe"]["deadline_s"] == 60 and data["agents"]["echo"]["seconds"] >= 0


class _EchoHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that thinks aloud, then repeats the probe's token."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.asked.append(body)  # type: ignore[attr-defined]
        token = re.search(r"devloop-probe-[0-9a-f]+", body["messages"][-1]["content"])
        text = "<think>\nThey want a token; not OK to add anything.\n</think>\n" + (token.group(0) if token else "?")
        reply = ChatServer.completion(text)
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_probe_passes_an_endpoint_that_repeats_the_token_after_its_reasoning(ws: WS) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.asked = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        (ws.root / "devloop.yaml").write_text(
            f"agents:\n  echo: {{kind: openai, base_url: '{url}', model: m, max_retries: 0}}\n"
            "roles: {reviewers: [echo]}\n"
        )
        r = ws.devloop("doctor", "--probe")
    finally:
        server.shutdown()
        server.server_close()
    assert r.returncode == 0, r.stdout + r.stderr
    line = _lines(r.stdout)["echo"]
    assert line.startswith("  ok   echo ") and "openai  probe answered with the token in " in line, line
    assert len(server.asked) == 1  # type: ignore[attr-defined]


def test_probes_run_at_once_so_slow_agents_take_about_as_long_as_one(
    ws: WS, chat_server: ChatServer, tmp_path: Path
) -> None:
    script = _probe_agent(tmp_path)
    slow = 3.0
    (ws.root / "devloop.yaml").write_text(
        "agents:\n"
        + "".join(f"  slow{i}: {_agent(script, 'echo', slow)}\n" for i in range(4))
        + f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: m, max_retries: 0}}\n"
        "roles: {planner: slow0}\n"
    )
    chat_server.enqueue(200, ChatServer.completion("not the token"), delay=slow)
    began = time.monotonic()
    r = ws.devloop("doctor", "--probe", "--json")
    wall = time.monotonic() - began
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert [data["agents"][f"slow{i}"]["ok"] for i in range(4)] == [True] * 4
    assert all(data["agents"][f"slow{i}"]["seconds"] >= slow for i in range(4))
    assert not data["agents"]["proxy"]["ok"] and "not with the token" in data["agents"]["proxy"]["detail"]
    assert list(data["agents"]) == ["slow0", "slow1", "slow2", "slow3", "proxy", "me"]  # config order, then `me`
    # one after another this is 5 x 3 s = 15 s; at once, one slow agent plus start-up (slack for a busy machine)
    assert data["probe"]["seconds"] < 2 * slow + 2, data["probe"]
    assert wall < 3 * slow + 1, wall


def _running(marker: str) -> list[int]:
    """Processes whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_probe_deadline_reports_agents_that_did_not_answer_in_time(
    ws: WS, chat_server: ChatServer, tmp_path: Path
) -> None:
    script = _probe_agent(tmp_path)
    marker = f"echo-{uuid.uuid4().hex}"  # the hanging agent's mode argument: finds its process afterwards
    (ws.root / "devloop.yaml").write_text(
        "agents:\n"
        f"  quick: {_agent(script, 'echo')}\n"
        f"  hang: {_agent(script, marker, 60)}\n"
        f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: m, max_retries: 0}}\n"
        "roles: {planner: quick, plan_reviewer: hang, reviewers: [quick]}\n"
    )
    chat_server.enqueue(200, ChatServer.completion("late"), delay=60)
    began = time.monotonic()
    r = ws.devloop("doctor", "--probe", "--probe-timeout", "2")
    wall = time.monotonic() - began
    assert r.returncode == 1 and "no working agent for: plan_reviewer" in r.stderr, r.stdout + r.stderr
    lines = _lines(r.stdout)
    assert lines["quick"].startswith("  ok   quick ")
    for name in ("hang", "proxy"):
        assert lines[name].startswith(f"  FAIL {name} ") and "no answer within the" in lines[name], lines[name]
        assert "probe deadline" in lines[name]
    assert "(deadline 2s)" in r.stdout
    assert wall < 15, wall  # not the 60 s the agents would take
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(marker) == []  # the agent's process was stopped, not left behind
