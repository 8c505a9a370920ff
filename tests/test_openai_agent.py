"""OpenAIAgent against a real local HTTP server speaking the chat-completions API."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devloop.agents.base import AgentRequest, CallStatus, RoleKind
from devloop.agents.openai import MAX_RESPONSE_BYTES, OpenAIAgent
from tests.chat_server import ChatServer, chat_server_fixture  # noqa: F401  (registers the `chat_server` fixture)

KEY_ENV = "DEVLOOP_TEST_OPENAI_KEY"
SECRET = "sk-test-5ecret-do-not-leak"


def make_config(url: str, **overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "kind": "openai",
        "base_url": url,
        "model": "cfg-model",
        "api_key_env": None,
        "temperature": None,
        "timeout": 5.0,
        "max_retries": 3,
        "backoff": 1.0,
        "max_tokens": None,
        "system": None,
        "retry_budget": 90.0,
        "retry_timeouts": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def make_agent(url: str, **overrides: Any) -> tuple[OpenAIAgent, list[float]]:
    """The agent plus the list its injected sleep records waits into."""
    sleeps: list[float] = []
    return OpenAIAgent("glm", make_config(url, **overrides), sleep=sleeps.append), sleeps


def make_request(prompt: str = "Review the diff.", kind: RoleKind = RoleKind.JUDGE) -> AgentRequest:
    return AgentRequest(
        prompt=prompt,
        workspace=Path("."),
        feature="feat",
        step="code_review" if kind is RoleKind.JUDGE else "implement",
        role="reviewers" if kind is RoleKind.JUDGE else "implementer",
        role_kind=kind,
        call_id="round1-judge" if kind is RoleKind.JUDGE else "implement",
    )


# -- answers --------------------------------------------------------------------------
def test_answers_with_text_usage_and_litellm_cost(chat_server: ChatServer) -> None:
    usage = {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127}
    chat_server.enqueue(
        200,
        ChatServer.completion("VOTE: PRODUCTION GRADE\n", model="glm-5", usage=usage),
        headers={"x-litellm-response-cost": "0.00042"},
    )
    agent, sleeps = make_agent(chat_server.url)
    result = agent.run(make_request("Review the diff."))

    assert result.status is CallStatus.ANSWERED and result.ok
    assert result.text == "VOTE: PRODUCTION GRADE\n"
    assert result.usage == {"tokens_in": 120, "tokens_out": 7, "cost_usd": pytest.approx(0.00042)}
    assert result.model == "glm-5"  # what the server says it ran, not the configured alias
    assert result.agent == "glm"
    assert result.detail == "" and not result.malformed
    assert result.duration_s >= 0
    assert sleeps == []
    [req] = chat_server.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["Content-Type"] == "application/json"
    assert "Authorization" not in req.headers
    assert req.body == {
        "model": "cfg-model",
        "messages": [{"role": "user", "content": "Review the diff."}],
        "stream": False,
    }


def test_unknown_cost_is_none_not_zero_and_model_falls_back_to_config(chat_server: ChatServer) -> None:
    body = ChatServer.completion("fine")
    del body["model"]
    chat_server.enqueue(200, body)
    agent, _ = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.ok
    assert result.usage == {"tokens_in": None, "tokens_out": None, "cost_usd": None}
    assert result.model == "cfg-model"


@pytest.mark.parametrize("field", ["cost", "total_cost"])
def test_cost_from_the_body_usage(chat_server: ChatServer, field: str) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, field: 0.25}
    chat_server.enqueue(200, ChatServer.completion("ok", usage=usage))
    agent, _ = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.usage == {"tokens_in": 3, "tokens_out": 4, "cost_usd": 0.25}


def test_system_message_temperature_and_max_tokens_are_forwarded(chat_server: ChatServer) -> None:
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, _ = make_agent(chat_server.url + "/", system="Be terse.", temperature=0.2, max_tokens=256)
    assert agent.run(make_request("Plan it.")).ok
    [req] = chat_server.requests
    assert req.path == "/v1/chat/completions"  # a trailing slash on base_url does not double up
    assert req.body == {
        "model": "cfg-model",
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Plan it."}],
        "temperature": 0.2,
        "max_tokens": 256,
        "stream": False,
    }


def test_content_as_a_list_of_text_parts_is_joined(chat_server: ChatServer) -> None:
    body = ChatServer.completion("x")
    body["choices"][0]["message"]["content"] = [{"type": "text", "text": "VERDICT: "}, {"type": "text", "text": "OK"}]
    chat_server.enqueue(200, body)
    agent, _ = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.ok and result.text == "VERDICT: OK"


def test_agent_attributes() -> None:
    agent, _ = make_agent("http://127.0.0.1:9/v1")
    assert agent.name == "glm" and agent.model == "cfg-model"
    assert agent.returns_file_blocks is True


# -- the key ----------------------------------------------------------------------------
def test_bearer_key_comes_from_the_named_variable_and_never_reaches_a_detail(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    chat_server.enqueue(200, ChatServer.completion("ok"))
    chat_server.enqueue(401, {"error": {"message": f"Invalid API key {SECRET}", "type": "auth"}})
    chat_server.enqueue(403, {"error": f"key {SECRET} may not use this model"})
    chat_server.enqueue(400, {"error": {"message": f"bad request from key {SECRET}"}})
    agent, sleeps = make_agent(chat_server.url, api_key_env=KEY_ENV)

    assert agent.run(make_request()).ok
    assert chat_server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"

    unauthorized = agent.run(make_request())
    assert unauthorized.status is CallStatus.UNAVAILABLE
    assert unauthorized.detail.startswith("not authorized (HTTP 401): Invalid API key")
    forbidden = agent.run(make_request())
    assert forbidden.status is CallStatus.UNAVAILABLE
    assert forbidden.detail.startswith("not authorized (HTTP 403)")
    rejected = agent.run(make_request())
    assert rejected.status is CallStatus.ERROR
    for result in (unauthorized, forbidden, rejected):
        assert SECRET not in result.detail and "***" in result.detail
        assert SECRET not in repr(result)
    assert len(chat_server.requests) == 4 and sleeps == []  # auth failures are not retried


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_key_variable_is_unavailable_without_a_request(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(KEY_ENV, value)
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, _ = make_agent(chat_server.url, api_key_env=KEY_ENV)
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail == f"environment variable {KEY_ENV} is not set"
    assert chat_server.requests == []


# -- retries ----------------------------------------------------------------------------
def test_429_then_200_answers_after_one_retry_honouring_retry_after(chat_server: ChatServer) -> None:
    chat_server.enqueue(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "7"})
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, sleeps = make_agent(chat_server.url, backoff=0.5)
    result = agent.run(make_request())
    assert result.ok and result.text == "ok"
    assert result.detail == ""  # retries are only mentioned when the call failed
    assert sleeps == [7.0]
    assert len(chat_server.requests) == 2


def test_backoff_is_exponential_without_retry_after(chat_server: ChatServer) -> None:
    chat_server.enqueue(429, {"error": {"message": "busy"}})
    chat_server.enqueue(502, b"bad gateway")
    chat_server.enqueue(503, {"error": {"message": "overloaded"}})
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, sleeps = make_agent(chat_server.url, backoff=0.5, max_retries=3)
    assert agent.run(make_request()).ok
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(chat_server.requests) == 4


def test_backoff_waits_are_capped_at_a_minute_and_all_waits_by_the_retry_budget(chat_server: ChatServer) -> None:
    for _ in range(3):
        chat_server.enqueue(500, {})
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, sleeps = make_agent(chat_server.url, backoff=100.0, max_retries=3, retry_budget=200)
    assert agent.run(make_request()).ok
    assert sleeps == [60.0, 60.0, 60.0]

    for _ in range(4):
        chat_server.enqueue(500, {"error": {"message": "down"}})
    agent, sleeps = make_agent(chat_server.url, backoff=100.0, max_retries=3, retry_budget=150)
    result = agent.run(make_request())
    assert sleeps == [60.0, 60.0]  # a third minute would pass the budget: given up before it, not cut short
    assert result.detail == (
        "server error (HTTP 500): down (after 2 retries); the next wait is 60 s, "
        "more than the 30 s left of retry_budget (150 s)"
    )


@pytest.mark.parametrize(
    ("headers", "waited"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500", "Retry-After": "2"}, 1.5),  # the precise one wins
        ({"llm_provider-retry-after": "60"}, 60.0),  # LiteLLM's proxy passing on its upstream's header
        ({"llm_provider-retry-after-ms": "250"}, 0.25),
        ({"x-ratelimit-reset-requests": "1m2s", "x-ratelimit-reset-tokens": "20ms"}, 62.0),  # the longer one
        (
            {
                "x-ratelimit-reset-requests": "1m2s",
                "x-ratelimit-remaining-requests": "5",
                "x-ratelimit-reset-tokens": "1.5s",
                "x-ratelimit-remaining-tokens": "0",
            },
            1.5,  # the exhausted one
        ),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date already past: at once
        ({"Retry-After": "soon"}, 1.0),  # unreadable: backoff
    ],
    ids=["seconds", "ms", "litellm", "litellm-ms", "reset-longest", "reset-exhausted", "past-date", "junk"],
)
def test_every_retry_header_is_honoured(chat_server: ChatServer, headers: dict[str, str], waited: float) -> None:
    chat_server.enqueue(429, {"error": {"message": "slow down"}}, headers=headers)
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, sleeps = make_agent(chat_server.url, backoff=1.0)
    assert agent.run(make_request()).ok
    assert sleeps == [pytest.approx(waited)]


def test_an_http_date_in_the_future_is_waited_for(chat_server: ChatServer) -> None:
    from email.utils import formatdate

    chat_server.enqueue(429, {}, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)})
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, sleeps = make_agent(chat_server.url)
    assert agent.run(make_request()).ok
    assert len(sleeps) == 1 and 27 < sleeps[0] <= 31


def test_a_wait_longer_than_the_budget_gives_up_at_once_and_says_why(
    chat_server: ChatServer, capfd: pytest.CaptureFixture[str]
) -> None:
    chat_server.enqueue(429, {"error": {"message": "rpm limit"}}, headers={"llm_provider-retry-after": "3600"})
    chat_server.enqueue(200, ChatServer.completion("never asked"))
    agent, sleeps = make_agent(chat_server.url, retry_budget=90)
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE and sleeps == [] and len(chat_server.requests) == 1
    assert result.detail == (
        "rate limited / quota (HTTP 429): rpm limit; the server asks to wait 3600 s (llm_provider-retry-after), "
        "more than the 90 s left of retry_budget (90 s)"
    )
    assert "retrying" not in capfd.readouterr().err


def test_each_wait_is_shown_with_the_model_and_the_time(
    chat_server: ChatServer, capfd: pytest.CaptureFixture[str]
) -> None:
    chat_server.enqueue(429, {}, headers={"llm_provider-retry-after": "42"})
    chat_server.enqueue(503, {})
    chat_server.enqueue(200, ChatServer.completion("ok"))
    agent, sleeps = make_agent(chat_server.url, backoff=0.5)
    assert agent.run(make_request()).ok and sleeps == [42.0, 1.0]
    err = capfd.readouterr().err
    assert "... rate limited (HTTP 429) by cfg-model, retrying in 42 s (retry 1 of 3)" in err
    assert "... server error (HTTP 503) by cfg-model, retrying in 1 s (retry 2 of 3)" in err


def test_500_every_time_is_unavailable_after_exactly_max_retries_plus_one_requests(chat_server: ChatServer) -> None:
    for _ in range(3):
        chat_server.enqueue(500, {"error": {"message": "upstream exploded"}})
    chat_server.enqueue(200, ChatServer.completion("never reached"))
    agent, sleeps = make_agent(chat_server.url, max_retries=2, backoff=0.01)
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail == "server error (HTTP 500): upstream exploded (after 2 retries)"
    assert len(chat_server.requests) == 3
    assert sleeps == [0.01, 0.02]


def test_429_every_time_is_unavailable_rate_limited(chat_server: ChatServer) -> None:
    for _ in range(2):
        chat_server.enqueue(429, {"error": {"message": "quota exceeded"}})
    agent, sleeps = make_agent(chat_server.url, max_retries=1, backoff=0.01)
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail.startswith("rate limited / quota (HTTP 429)")
    assert "quota exceeded" in result.detail and "after 1 retry" in result.detail
    assert len(chat_server.requests) == 2 and sleeps == [0.01]


def test_400_is_an_error_with_the_server_message_and_no_retry(chat_server: ChatServer) -> None:
    chat_server.enqueue(400, {"error": {"message": "messages: field required", "type": "invalid_request_error"}})
    agent, sleeps = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.status is CallStatus.ERROR and not result.malformed
    assert result.detail == "request rejected (HTTP 400): messages: field required"
    assert len(chat_server.requests) == 1 and sleeps == []


def test_404_is_unavailable_model_or_endpoint_not_found(chat_server: ChatServer) -> None:
    agent, sleeps = make_agent(chat_server.url.removesuffix("/v1"))  # base_url without /v1: a common mistake
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail.startswith("model or endpoint not found (HTTP 404)")
    assert [r.path for r in chat_server.requests] == ["/chat/completions"] and sleeps == []


def test_a_redirect_is_not_followed(chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    chat_server.enqueue(307, b"", headers={"Location": "http://elsewhere.invalid/v1/chat/completions"})
    agent, _ = make_agent(chat_server.url, api_key_env=KEY_ENV)
    result = agent.run(make_request())
    assert result.status is CallStatus.ERROR
    assert "unexpected redirect (HTTP 307)" in result.detail
    assert len(chat_server.requests) == 1


# -- malformed answers ------------------------------------------------------------------
def test_finish_reason_length_is_a_malformed_truncated_answer(chat_server: ChatServer) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 4096}
    chat_server.enqueue(200, ChatServer.completion("VOTE: PRODUCTION GR", finish_reason="length", usage=usage))
    agent, sleeps = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.status is CallStatus.ERROR and result.malformed
    assert result.detail == "answer truncated (finish_reason=length)"
    assert result.text == ""
    assert result.usage["tokens_out"] == 4096  # the tokens were still spent
    assert len(chat_server.requests) == 1 and sleeps == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"<html>LiteLLM admin UI</html>", "response is not JSON"),
        (b"\xff\xfe not utf-8", "response is not JSON"),
        (b"[1, 2]", "response is not a JSON object"),
        ({"id": "x", "object": "chat.completion"}, "response has no choices"),
        ({"choices": []}, "response has no choices"),
        (ChatServer.completion(""), "the answer was empty (finish_reason=stop)"),
        (ChatServer.completion("  \n"), "the answer was empty"),
        (ChatServer.completion(None, finish_reason="tool_calls"), "the answer was empty (finish_reason=tool_calls)"),
    ],
)
def test_unusable_bodies_are_malformed_errors_without_retry(chat_server: ChatServer, body: Any, detail: str) -> None:
    chat_server.enqueue(200, body)
    agent, sleeps = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.status is CallStatus.ERROR and result.malformed
    assert result.detail.startswith(detail)
    assert len(chat_server.requests) == 1 and sleeps == []


def test_an_error_object_in_a_200_is_an_error(chat_server: ChatServer) -> None:
    chat_server.enqueue(200, {"error": {"message": "context window exceeded"}})
    agent, _ = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.status is CallStatus.ERROR and not result.malformed
    assert result.detail == "server reported an error: context window exceeded"


@pytest.mark.parametrize("with_length", [True, False])
def test_a_response_over_10_mb_is_malformed(chat_server: ChatServer, with_length: bool) -> None:
    headers: dict[str, str | None] = {} if with_length else {"Content-Length": None}
    chat_server.enqueue(200, b" " * (MAX_RESPONSE_BYTES + 1), headers=headers)
    agent, _ = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.status is CallStatus.ERROR and result.malformed
    assert result.detail == "response larger than 10 MB"


def test_a_body_without_length_under_the_cap_is_read_to_the_end(chat_server: ChatServer) -> None:
    chat_server.enqueue(200, json.dumps(ChatServer.completion("ok")).encode(), headers={"Content-Length": None})
    agent, _ = make_agent(chat_server.url)
    result = agent.run(make_request())
    assert result.ok and result.text == "ok"


# -- transport failures -----------------------------------------------------------------
def test_connection_refused_is_unavailable_after_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    agent, sleeps = make_agent(f"http://127.0.0.1:{port}/v1", max_retries=2, backoff=0.01)
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail == f"connection refused by 127.0.0.1:{port} (after 2 retries)"
    assert sleeps == [0.01, 0.02]


def test_a_server_slower_than_the_timeout_is_unavailable_after_retries(chat_server: ChatServer) -> None:
    for _ in range(2):
        chat_server.enqueue(200, ChatServer.completion("too late"), delay=3.0)
    agent, sleeps = make_agent(chat_server.url, timeout=0.3, max_retries=1, backoff=0.01)
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE
    assert result.detail == "timed out after 0.3s (after 1 retry)"
    assert len(chat_server.requests) == 2 and sleeps == [0.01]
    assert result.duration_s > 0  # a failed call still records how long it took


@pytest.mark.parametrize(
    ("kind", "retry_timeouts", "requests"),
    [
        (RoleKind.JUDGE, None, 2),  # a judge's timed-out attempt is asked once more by default
        (RoleKind.AUTHOR, None, 1),  # an author's never: the server may still be writing (and billing) it
        (RoleKind.AUTHOR, True, 3),  # retry_timeouts: true allows every retry
        (RoleKind.JUDGE, False, 1),
    ],
    ids=["judge-default", "author-default", "author-true", "judge-false"],
)
def test_a_timed_out_attempt_is_retried_only_as_retry_timeouts_allows(
    chat_server: ChatServer, kind: RoleKind, retry_timeouts: bool | None, requests: int
) -> None:
    for _ in range(3):
        chat_server.enqueue(200, ChatServer.completion("too late"), delay=2.0)
    agent, sleeps = make_agent(chat_server.url, timeout=0.3, max_retries=2, backoff=0.01, retry_timeouts=retry_timeouts)
    result = agent.run(make_request(kind=kind))
    assert result.status is CallStatus.UNAVAILABLE
    assert len(chat_server.requests) == requests and len(sleeps) == requests - 1
    retried = {1: "", 2: " (after 1 retry)", 3: " (after 2 retries)"}[requests]
    stop = "" if requests == 3 else "; not retried, since the server may still be working on it (see retry_timeouts)"
    assert result.detail == f"timed out after 0.3s{retried}{stop}"


@pytest.mark.parametrize(
    ("headers", "trickle_head"),
    [({}, False), ({"Content-Length": None}, False), ({}, True)],
    ids=["slow-body", "slow-body-without-length", "slow-headers"],
)
def test_the_timeout_is_total_against_a_server_trickling_its_answer(
    chat_server: ChatServer, headers: dict[str, str | None], trickle_head: bool
) -> None:
    """A byte every 0.1 s keeps every single read alive; only a deadline on the whole call ends it."""
    body = json.dumps(ChatServer.completion("VOTE: PRODUCTION GRADE")).encode()  # ~200 bytes: 20 s of trickle
    chat_server.enqueue(200, body, headers=headers, trickle=0.1, trickle_head=trickle_head)
    agent, sleeps = make_agent(chat_server.url, timeout=1.0, max_retries=0)
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE and not result.ok, result
    assert result.detail == "timed out after 1s" and result.text == ""
    assert chat_server.trickles_finished == 0 and len(chat_server.requests) == 1  # given up while it still sent
    assert sleeps == []


def test_a_trickling_server_is_retried_and_each_attempt_has_the_whole_timeout(chat_server: ChatServer) -> None:
    body = json.dumps(ChatServer.completion("late")).encode()
    chat_server.enqueue(200, body, trickle=0.1)
    chat_server.enqueue(200, ChatServer.completion("in time"))
    agent, sleeps = make_agent(chat_server.url, timeout=1.0, max_retries=1, backoff=0.01)
    result = agent.run(make_request())
    assert result.ok and result.text == "in time"
    assert len(chat_server.requests) == 2 and sleeps == [0.01] and chat_server.trickles_finished == 0


def test_a_local_server_is_reached_directly_even_with_a_proxy_configured(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{dead}")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    chat_server.enqueue(200, ChatServer.completion("direct"))
    agent, _ = make_agent(chat_server.url, max_retries=0)
    result = agent.run(make_request())
    assert result.ok and result.text == "direct"


def test_a_bad_base_url_is_unavailable_and_nothing_raises() -> None:
    agent, _ = make_agent("ftp://example.invalid/v1")
    result = agent.run(make_request())
    assert result.status is CallStatus.UNAVAILABLE
    assert "base_url must start with http:// or https://" in result.detail


def test_a_surprise_inside_the_agent_becomes_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    agent, _ = make_agent("http://127.0.0.1:9/v1", api_key_env=KEY_ENV)

    def boom(*args: Any) -> Any:
        raise RuntimeError(f"bug while holding {SECRET}")

    monkeypatch.setattr(agent, "_attempt", boom)
    result = agent.run(make_request())
    assert result.status is CallStatus.ERROR
    assert result.detail.startswith("internal error: RuntimeError")
    assert SECRET not in result.detail


# -- failures only devloop.yaml or the environment can fix ---------------------------------
@pytest.mark.parametrize(
    ("status", "body", "fix"),
    [
        (401, {"error": {"message": "Authentication Error, Invalid proxy server token passed."}},
         f"check the key in {KEY_ENV}: 127.0.0.1:PORT refused it (HTTP 401)"),
        (400, {"error": {"message": "/chat/completions: Invalid model name passed in model=cfg-model. "
                         "Call `/v1/models` to view available models for your key."}},
         "agents.glm.model: the server does not know 'cfg-model'"),
        (404, {"error": {"message": "The model `cfg-model` does not exist."}},
         "agents.glm.model: the server does not know 'cfg-model'"),
        (404, b"<html>Not Found</html>", "agents.glm.base_url: http://127.0.0.1:PORT/v1/chat/completions was not "
         "found (HTTP 404)"),
        (400, {"error": {"message": "No connected db.", "type": "no_db_connection", "code": "400"}},
         f"check the key in {KEY_ENV}: 127.0.0.1:PORT refused it (HTTP 400)"),  # LiteLLM, a key not its master key
        (400, {"error": {"message": "max_tokens is too large"}},
         "agents.glm: the server rejects its requests (HTTP 400: max_tokens is too large)"),
    ],
    ids=["401", "litellm-unknown-model", "openai-unknown-model", "wrong-path", "litellm-wrong-key", "other-400"],
)  # fmt: skip
def test_a_request_the_server_refuses_names_what_to_fix(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch, status: int, body: Any, fix: str
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    chat_server.enqueue(status, body)
    agent, sleeps = make_agent(chat_server.url, api_key_env=KEY_ENV)
    result = agent.run(make_request())
    assert not result.ok and sleeps == [] and len(chat_server.requests) == 1
    assert result.fix == fix.replace("PORT", str(chat_server.port))


def test_transient_failures_name_no_fix(chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for status in (429, 500, 503, 408):
        chat_server.enqueue(status, {"error": {"message": "Invalid model name"}})  # words alone do not decide
        agent, _ = make_agent(chat_server.url, max_retries=0)
        assert agent.run(make_request()).fix == ""
    monkeypatch.delenv(KEY_ENV, raising=False)
    missing, _ = make_agent(chat_server.url, api_key_env=KEY_ENV)
    assert missing.run(make_request()).fix == f"set {KEY_ENV}"
