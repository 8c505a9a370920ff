"""An OpenAI-compatible endpoint plays every role of the loop over real HTTP; usage lands in the ledger."""

from __future__ import annotations

import json

from tests.chat_server import ChatServer, chat_server_fixture  # noqa: F401  (registers `chat_server`)
from tests.conftest import WS

USAGE = {"prompt_tokens": 120, "completion_tokens": 30}
EVAL = (
    "```yaml\nscores: {plan_quality: 5, review_usefulness: 4, implementation_drift: 5, trigger_correctness: 4}\n```\n"
)


def test_an_http_model_runs_the_loop_and_its_costs_are_reported(ws: WS, chat_server: ChatServer) -> None:
    text = (
        "agents:\n"
        f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: glm-5, api_key_env: PROXY_KEY,"
        " max_retries: 1, backoff: 0}\n"
        f"  proxy2: {{kind: openai, base_url: '{chat_server.url}', model: qwen, max_retries: 0}}\n"
        "roles: {planner: proxy, plan_reviewer: proxy2, implementer: proxy, reviewers: [proxy2],"
        " verifier: proxy2, evaluator: proxy2}\n"
    )
    (ws.root / "devloop.yaml").write_text(text)
    ws.env["PROXY_KEY"] = "sk-very-secret-123456"
    ws.add_feature("a", script=False)
    blocks = (
        "```file=plans/a/plan.md\n# Plan\n```\n```file=plans/a/validation.md\n# Checks\n```\n",
        "VERDICT: APPROVE\n",
        "```file=src/a.py\nprint('a')\n```\n```file=plans/a/deviations.md\nNo deviations.\n```\n"
        "```file=scripts/smoke/a.sh\n#!/bin/sh\nexit 0\n```\n",
        "VOTE: PRODUCTION GRADE\n",
        EVAL,
    )
    for i, answer in enumerate(blocks):
        headers = {"x-litellm-response-cost": "0.0125"} if i % 2 == 0 else {}
        chat_server.enqueue(200, ChatServer.completion(answer, usage=USAGE), headers)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Next: nothing  (a has been through the whole loop)" in r.stdout
    assert (ws.root / "scripts/smoke/a.sh").stat().st_mode & 0o100
    assert ws.read("src/a.py") == "print('a')\n"
    assert chat_server.requests[0].headers["Authorization"] == "Bearer sk-very-secret-123456"
    assert "Authorization" not in chat_server.requests[1].headers
    ledger = [json.loads(line) for line in ws.read("runs/ledger.jsonl").splitlines()]
    assert [e["model"] for e in ledger] == ["served-model"] * 5
    assert ledger[0]["tokens_in"] == 120 and ledger[0]["cost_usd"] == 0.0125
    assert ledger[1]["cost_usd"] is None  # unknown, never 0
    assert "sk-very-secret" not in ws.read("runs/ledger.jsonl")
    cost = ws.devloop("cost", "--by", "agent")
    assert cost.returncode == 0
    lines = {line.split()[0]: line for line in cost.stdout.splitlines()[1:]}
    assert lines["proxy"].split()[1] == "2" and lines["proxy"].rstrip().endswith("$0.0250")
    assert lines["proxy2"].split()[1] == "3" and lines["proxy2"].rstrip().endswith("$0.0125 + 2 unknown")
    assert "$0.0375 + 2 unknown" in lines["TOTAL"]
    data = json.loads(ws.devloop("cost", "--json", "--by", "step").stdout)
    assert data["plan"]["cost_usd"] == 0.0125 and data["plan_review"]["cost_usd"] is None


def test_a_refused_connection_fails_the_step_as_unavailable(ws: WS) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    (ws.root / "devloop.yaml").write_text(
        f"agents:\n  down: {{kind: openai, base_url: 'http://127.0.0.1:{port}/v1', model: m, max_retries: 1,"
        " backoff: 0}\nroles: {planner: down}\n"
    )
    ws.add_feature("a", script=False)
    r = ws.doit()
    assert r.returncode == 1
    assert "planner agent 'down' failed (plan)" in r.stdout
    entry = json.loads(ws.read("runs/ledger.jsonl").splitlines()[0])
    assert entry["status"] == "unavailable" and entry["cost_usd"] is None


def test_a_failure_only_setup_can_fix_names_the_fix_and_is_not_asked_again_until_setup_changes(
    ws: WS, chat_server: ChatServer
) -> None:
    """No key, then an unknown model: Next: says what to change, and doit sends nothing until it changed."""
    config = (
        "agents:\n"
        f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: MODEL, api_key_env: PROXY_KEY,"
        " max_retries: 0}\n"
        "roles: {planner: proxy}\n"
    )
    (ws.root / "devloop.yaml").write_text(config.replace("MODEL", "no-such-model"))
    ws.env.pop("PROXY_KEY", None)
    ws.add_feature("a", script=False)
    r = ws.doit()
    assert r.returncode == 1 and "environment variable PROXY_KEY is not set" in r.stdout
    assert "Next: set PROXY_KEY, then doit" in r.stdout, r.stdout
    again = ws.doit()
    assert again.returncode == 1 and "not asked again: devloop.yaml and the environment are unchanged" in again.stdout
    assert "Next: set PROXY_KEY, then doit" in again.stdout
    ledger = ws.read("runs/ledger.jsonl").splitlines()
    assert len(ledger) == 1  # the second doit called no agent

    ws.env["PROXY_KEY"] = "sk-0123456789abcdef"
    unknown = {"error": {"message": "Invalid model name passed in model=no-such-model. Call `/v1/models`."}}
    chat_server.enqueue(400, unknown)
    r = ws.doit()
    assert r.returncode == 1 and len(chat_server.requests) == 1
    assert "Next: agents.proxy.model: the server does not know 'no-such-model', then doit" in r.stdout, r.stdout
    assert ws.doit().returncode == 1 and len(chat_server.requests) == 1  # the same request is not sent again

    (ws.root / "devloop.yaml").write_text(config.replace("MODEL", "glm-5"))
    blocks = "```file=plans/a/plan.md\n# Plan\n```\n```file=plans/a/validation.md\n# Checks\n```\n"
    chat_server.enqueue(200, ChatServer.completion(blocks))
    r = ws.doit("plan:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(chat_server.requests) == 2 and chat_server.requests[1].body["model"] == "glm-5"
    assert "sk-0123456789abcdef" not in ws.read("plans/a/devloop.lock")


def test_a_transient_failure_is_asked_again(ws: WS, chat_server: ChatServer) -> None:
    (ws.root / "devloop.yaml").write_text(
        f"agents:\n  proxy: {{kind: openai, base_url: '{chat_server.url}', model: m, max_retries: 0}}\n"
        "roles: {planner: proxy}\n"
    )
    ws.add_feature("a", script=False)
    chat_server.enqueue(503, {"error": {"message": "no healthy deployments"}})
    r = ws.doit()
    assert r.returncode == 1 and "Next: doit  (asks again, with what was wrong)" in r.stdout
    chat_server.enqueue(503, {"error": {"message": "still down"}})
    assert ws.doit().returncode == 1 and len(chat_server.requests) == 2
