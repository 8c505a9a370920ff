"""devloop's OpenAI-compatible agent and the ``llm`` CLI against LiteLLM's real proxy (started once a session).

Skipped when ``scripts/litellm-proxy`` could not install the proxy. What the proxy sends back in each
failure case is recorded in ``tests/fixtures/litellm/`` (``capture.py`` there makes it again).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devloop.agents.base import AgentRequest, AgentResult, CallStatus, RoleKind
from devloop.agents.openai import OpenAIAgent
from tests.chat_server import ChatServer
from tests.litellm_proxy import (
    LLM_BIN,
    MOCK_OK,
    MOCK_OK_TEXT,
    MOCK_THINK,
    MOCK_THINK_TEXT,
    PRICED,
    PRICED_AS,
    UPSTREAM_MODELS,
    LiteLLMProxy,
    write_llm_config,
)

KEY_ENV = "DEVLOOP_TEST_LITELLM_KEY"
USAGE = {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46}


@pytest.fixture
def proxy(litellm_proxy: LiteLLMProxy, monkeypatch: pytest.MonkeyPatch) -> LiteLLMProxy:
    litellm_proxy.reset()
    monkeypatch.setenv(KEY_ENV, litellm_proxy.key)
    return litellm_proxy


def make_agent(proxy: LiteLLMProxy, model: str, **overrides: Any) -> tuple[OpenAIAgent, list[float]]:
    values: dict[str, Any] = {
        "kind": "openai",
        "base_url": proxy.url,
        "model": model,
        "api_key_env": KEY_ENV,
        "temperature": None,
        "timeout": 20.0,
        "max_retries": 2,
        "backoff": 0.0,
        "max_tokens": None,
        "system": None,
    }
    values.update(overrides)
    sleeps: list[float] = []
    return OpenAIAgent(f"litellm-{model}", SimpleNamespace(**values), sleep=sleeps.append), sleeps


def make_request(prompt: str = "Review the diff.", call_id: str = "round1-judge") -> AgentRequest:
    return AgentRequest(
        prompt=prompt,
        workspace=Path("."),
        feature="feat",
        step="code_review",
        role="reviewers",
        role_kind=RoleKind.JUDGE,
        call_id=call_id,
    )


def test_an_upstream_answer_comes_back_through_the_proxy(proxy: LiteLLMProxy) -> None:
    proxy.upstream.enqueue(200, ChatServer.completion("VOTE: NEEDS WORK\n", model="up-b", usage=USAGE), model="up-b")
    agent, sleeps = make_agent(proxy, "up-b")
    result = agent.run(make_request("Review this diff, please."))

    assert result.status is CallStatus.ANSWERED, result.detail
    assert result.text == "VOTE: NEEDS WORK\n"
    assert result.model == "up-b"
    assert result.usage["tokens_in"] == 40 and result.usage["tokens_out"] == 6
    assert sleeps == []
    [req] = proxy.upstream.requests
    assert req.body["model"] == "up-b"
    assert req.body["messages"] == [{"role": "user", "content": "Review this diff, please."}]
    assert req.headers["authorization"] == "Bearer fake"  # the proxy's own upstream key; devloop's stays with it


def test_mock_models_answer_without_the_upstream(proxy: LiteLLMProxy) -> None:
    ok = make_agent(proxy, MOCK_OK)[0].run(make_request())
    think = make_agent(proxy, MOCK_THINK)[0].run(make_request())

    assert ok.status is CallStatus.ANSWERED and ok.text == MOCK_OK_TEXT and ok.model == MOCK_OK
    assert think.status is CallStatus.ANSWERED and think.text == MOCK_THINK_TEXT
    assert proxy.upstream.requests == []


def test_the_proxys_price_reaches_the_usage(proxy: LiteLLMProxy) -> None:
    proxy.upstream.enqueue(200, ChatServer.completion("priced", model=PRICED_AS, usage=USAGE))
    result = make_agent(proxy, PRICED)[0].run(make_request())

    assert result.status is CallStatus.ANSWERED, result.detail
    assert proxy.upstream.requests[0].body["model"] == PRICED_AS
    # gpt-4o-mini in LiteLLM's bundled price list: $0.15 / $0.60 per million tokens in / out
    assert result.usage["cost_usd"] == pytest.approx(40 * 0.15e-6 + 6 * 0.60e-6)


def test_an_upstream_retry_after_passed_on_by_the_proxy_is_waited(proxy: LiteLLMProxy) -> None:
    proxy.upstream.enqueue(429, {"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "7"})
    proxy.upstream.enqueue(200, ChatServer.completion("VOTE: PRODUCTION GRADE\n", model="up-a"))
    agent, sleeps = make_agent(proxy, "up-a")
    result = agent.run(make_request())

    assert result.status is CallStatus.ANSWERED, result.detail
    assert sleeps == [7.0]  # LiteLLM sends it on as `llm_provider-retry-after`
    assert len(proxy.upstream.requests) == 2  # LiteLLM itself did not retry


def test_five_callers_on_distinct_models_each_get_their_own_answer(proxy: LiteLLMProxy) -> None:
    models = UPSTREAM_MODELS[:5]
    for i, model in enumerate(reversed(models)):  # queued out of order: routing is by model, not arrival
        proxy.upstream.enqueue(200, ChatServer.completion(f"answer from {model}\n", model=model), model=model)
        if i == 0:
            proxy.upstream.enqueue(200, ChatServer.completion("nobody's", model="x"))  # the shared queue
    results: dict[str, AgentResult] = {}

    def call(model: str) -> None:
        results[model] = make_agent(proxy, model)[0].run(make_request(call_id=f"round1-judge-{model}"))

    threads = [threading.Thread(target=call, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert {m: r.text for m, r in results.items()} == {m: f"answer from {m}\n" for m in models}
    assert sorted(r.body["model"] for r in proxy.upstream.requests) == sorted(models)


def test_the_llm_cli_answers_through_the_proxy(proxy: LiteLLMProxy, tmp_path: Path) -> None:
    if not LLM_BIN.exists():
        pytest.skip(f"the llm CLI is not installed ({LLM_BIN})")
    proxy.upstream.enqueue(200, ChatServer.completion("hello via llm", model="up-c"))
    env = write_llm_config(tmp_path / "llm", proxy.url, proxy.key, ["up-c", MOCK_OK])
    argv = [str(LLM_BIN), "prompt", "-m", "up-c", "--no-stream", "--no-log", "Say hi."]
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    assert (run.returncode, run.stdout, run.stderr) == (0, "hello via llm\n", "")
    [req] = proxy.upstream.requests
    assert req.body["model"] == "up-c" and req.body["messages"][-1]["content"] == "Say hi."


def test_the_llm_cli_with_a_wrong_key_fails_at_the_proxy(proxy: LiteLLMProxy, tmp_path: Path) -> None:
    if not LLM_BIN.exists():
        pytest.skip(f"the llm CLI is not installed ({LLM_BIN})")
    env = write_llm_config(tmp_path / "llm", proxy.url, "sk-wrong", [MOCK_OK])
    run = subprocess.run(
        [str(LLM_BIN), "prompt", "-m", MOCK_OK, "--no-stream", "--no-log", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("Error: Error code: 400")  # a DB-less LiteLLM says "No connected db.", not 401


def test_the_upstream_notices_a_client_that_hangs_up_during_a_delay() -> None:
    """What the capture's slow-upstream case relies on to tell whether the proxy kept waiting."""
    server = ChatServer().start()
    try:
        server.enqueue(200, ChatServer.completion("late"), delay=3.0)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            time.sleep(0.3)
        deadline = time.monotonic() + 2.0
        while server.hangups == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.hangups == 1
    finally:
        server.stop()
