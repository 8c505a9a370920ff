"""devloop doctor: which agents can run, which roles are covered; probes only on request."""

from __future__ import annotations

import json
import sys

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


def test_doctor_probe_asks_each_agent_for_ok(ws: WS, chat_server: ChatServer) -> None:
    (ws.root / "devloop.yaml").write_text(
        "env_allow: [FAKE_AGENT_SCRIPT, FAKE_AGENT_LOG]\n"
        "agents:\n"
        f"  fake: {{kind: command, argv: [{sys.executable}, {FAKE_AGENT}]}}\n"
        f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: m, max_retries: 0}}\n"
        "roles: {planner: fake, plan_reviewer: proxy, implementer: fake, reviewers: [proxy], verifier: proxy,"
        " red_team: [proxy], gcp_reviewer: proxy, triage: proxy, evaluator: proxy}\n"
    )
    ws.set_script({"doctor": {"answer": "OK\n"}})
    chat_server.enqueue(200, ChatServer.completion("OK"))
    r = ws.devloop("doctor", "--probe", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["agents"]["fake"]["ok"] and data["agents"]["fake"]["detail"].startswith("probe answered OK")
    assert data["agents"]["proxy"]["ok"]
    assert data["roles"]["reviewers"]["verdict"] == "ok"
    assert len(ws.calls()) == 1 and len(chat_server.requests) == 1
    assert "connectivity check" in chat_server.requests[0].body["messages"][-1]["content"]


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
