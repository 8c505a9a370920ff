"""The whole loop over LiteLLM's real proxy, as a user runs it: `kind: openai` and `preset: llm` agents.

Every request goes through the proxy (started once a session, see tests/litellm_proxy.py) to a scripted
upstream provider, so what devloop meets is what LiteLLM really sends: its error shapes, its
``llm_provider-`` retry headers, its cost header, a reasoning model's ``<think>`` answer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.chat_server import ChatServer
from tests.conftest import WS
from tests.litellm_proxy import (
    LIMITED,
    LLM_BIN,
    MOCK_THINK,
    PRICED,
    PRICED_AS,
    LiteLLMProxy,
    write_llm_config,
)

KEY = "LITELLM_API_KEY"
USAGE = {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46}
PLAN = "```file=plans/a/plan.md\n# Plan\n```\n```file=plans/a/validation.md\n# Checks\n```\n"
CODE = (
    "```file=src/a.py\nprint('a')\n```\n```file=plans/a/deviations.md\nNo deviations.\n```\n"
    "```file=scripts/smoke/a.sh\n#!/bin/sh\nexit 0\n```\n"
)
EVAL = (
    "```yaml\nscores: {plan_quality: 5, review_usefulness: 4, implementation_drift: 5, trigger_correctness: 4}\n```\n"
)


@pytest.fixture
def proxy(litellm_proxy: LiteLLMProxy) -> LiteLLMProxy:
    litellm_proxy.reset()
    return litellm_proxy


def agent(proxy: LiteLLMProxy, name: str, model: str, **extra: object) -> str:
    fields = {"kind": "openai", "base_url": proxy.url, "model": model, "api_key_env": KEY, "backoff": 0, **extra}
    return f"  {name}: {json.dumps(fields)}\n"


def workspace(ws: WS, proxy: LiteLLMProxy, agents: str, roles: str) -> None:
    (ws.root / "devloop.yaml").write_text(f"agents:\n{agents}roles: {roles}\n")
    ws.env[KEY] = proxy.key
    ws.add_feature("a", script=False)


def ledger(ws: WS) -> list[dict[str, object]]:
    return [json.loads(line) for line in ws.read("runs/ledger.jsonl").splitlines()]


def test_the_whole_loop_runs_over_the_proxy_with_a_reasoning_reviewer_and_a_priced_model(
    ws: WS, proxy: LiteLLMProxy
) -> None:
    agents = (
        agent(proxy, "planner", PRICED)
        + agent(proxy, "judge", "up-b")
        + agent(proxy, "coder", "up-c")
        + agent(proxy, "thinker", MOCK_THINK)  # LiteLLM's own mock: `<think>…</think>` then the vote
        + agent(proxy, "reasoner", "up-d")  # the upstream sends its thoughts apart, as reasoning_content
    )
    roles = (
        "{planner: planner, plan_reviewer: judge, implementer: coder, reviewers: [thinker, reasoner],"
        " verifier: judge, evaluator: judge}"
    )
    workspace(ws, proxy, agents, roles)
    up = proxy.upstream
    up.enqueue(200, ChatServer.completion(PLAN, model=PRICED_AS, usage=USAGE), model=PRICED_AS)
    up.enqueue(200, ChatServer.completion("VERDICT: APPROVE\n", model="up-b"), model="up-b")
    up.enqueue(200, ChatServer.completion(CODE, model="up-c"), model="up-c")
    thoughtful = ChatServer.completion("VOTE: PRODUCTION GRADE\n", model="up-d")
    thoughtful["choices"][0]["message"]["reasoning_content"] = "It says NEEDS WORK nowhere; </think> fine."
    up.enqueue(200, thoughtful, model="up-d")
    up.enqueue(200, ChatServer.completion(EVAL, model="up-b"), model="up-b")

    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Next: nothing  (a has been through the whole loop)" in r.stdout
    assert ws.read("src/a.py") == "print('a')\n"
    reviews = {p.name: p.read_text() for p in (ws.root / "plans/a/reviews").glob("round*-*.md")}
    thinker = next(t for n, t in reviews.items() if "thinker" in n)
    reasoner = next(t for n, t in reviews.items() if "reasoner" in n)
    assert thinker.startswith("<think>") and "VOTE: PRODUCTION GRADE" in thinker
    assert reasoner.startswith("<think>\nIt says NEEDS WORK nowhere; </ think> fine.\n</think>")
    sent = [{k.lower(): v for k, v in q.headers.items()}.get("authorization") for q in up.requests]
    assert sent == ["Bearer fake"] * 5  # the proxy's own upstream key, never the one devloop sent it
    calls = ledger(ws)
    who = [c["agent"] for c in calls]
    assert who[:3] == ["planner", "judge", "coder"] and who[-1] == "judge"
    assert sorted(who[3:5]) == ["reasoner", "thinker"]  # the reviewers answer in parallel, in any order
    # gpt-4o-mini in LiteLLM's bundled price list: the proxy's x-litellm-response-cost reaches the ledger
    assert calls[0]["cost_usd"] == pytest.approx(40 * 0.15e-6 + 6 * 0.60e-6)
    assert calls[1]["cost_usd"] is None  # a model without a price: unknown, never $0
    assert proxy.key not in ws.read("runs/ledger.jsonl")
    cost = ws.devloop("cost", "--by", "agent")
    planner = next(line for line in cost.stdout.splitlines() if line.startswith("planner"))
    assert planner.rstrip().endswith("$0.0000096")  # below a cent: two significant digits, never "$0.0000"


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ({"Retry-After": "1"}, "retrying in 1 s"),
        ({"retry-after-ms": "300"}, "retrying in 0.3 s"),
        ({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "20ms"}, "retrying in 1 s"),
    ],
    ids=["retry-after", "retry-after-ms", "ratelimit-reset"],
)
def test_an_upstream_rate_limit_passed_on_by_the_proxy_is_waited_and_shown(
    ws: WS, proxy: LiteLLMProxy, headers: dict[str, str], shown: str
) -> None:
    workspace(ws, proxy, agent(proxy, "planner", "up-a", max_retries=1), "{planner: planner}")
    proxy.upstream.enqueue(429, {"error": {"message": "Rate limit reached"}}, headers=headers, model="up-a")
    proxy.upstream.enqueue(200, ChatServer.completion(PLAN, model="up-a"), model="up-a")
    r = ws.doit("plan:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"... rate limited (HTTP 429) by up-a, {shown} (retry 1 of 1)" in r.stderr
    assert len(proxy.upstream.requests) == 2


def test_the_proxy_s_own_per_minute_limit_outlasting_the_budget_fails_at_once_and_says_so(
    ws: WS, proxy: LiteLLMProxy
) -> None:
    workspace(ws, proxy, agent(proxy, "planner", LIMITED, retry_budget=5), "{planner: planner}")
    # LiteLLM counts requests per clock minute: spent near its end, the budget would be new again for doit's call
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    proxy.chat(LIMITED)  # spend the model's one request a minute (it may already be spent)
    r = ws.doit()
    assert r.returncode == 1
    assert "rate limited / quota (HTTP 429)" in r.stdout
    assert "the server asks to wait 60 s (llm_provider-retry-after), more than the 5 s left of retry_budget" in r.stdout
    assert "Next: doit  (asks again" in r.stdout


def test_a_truncated_answer_is_never_a_pass(ws: WS, proxy: LiteLLMProxy) -> None:
    workspace(
        ws,
        proxy,
        agent(proxy, "planner", "up-a") + agent(proxy, "judge", "up-b"),
        "{planner: planner, plan_reviewer: judge}",
    )
    proxy.upstream.enqueue(200, ChatServer.completion(PLAN, model="up-a"), model="up-a")
    cut = ChatServer.completion("VERDICT: APPROVE\n\nThe plan is fine but", model="up-b", finish_reason="length")
    proxy.upstream.enqueue(200, cut, model="up-b")
    r = ws.doit()
    assert r.returncode == 1
    assert "answer truncated (finish_reason=length)" in r.stdout
    assert "Next: doit  (asks again" in r.stdout
    assert not (ws.root / "plans/a/plan-review.md").exists() or "APPROVE" not in ws.read("plans/a/plan-review.md")


def test_an_implementer_on_500s_hands_over_to_the_rotation(ws: WS, proxy: LiteLLMProxy) -> None:
    agents = agent(proxy, "planner", "up-a") + agent(proxy, "judge", "up-b")
    agents += agent(proxy, "coder", "up-c", max_retries=1) + agent(proxy, "backup", "up-e")
    roles = "{planner: planner, plan_reviewer: judge, implementer: coder, implementer_rotation: [backup]}"
    workspace(ws, proxy, agents, roles)
    up = proxy.upstream
    up.enqueue(200, ChatServer.completion(PLAN, model="up-a"), model="up-a")
    up.enqueue(200, ChatServer.completion("VERDICT: APPROVE\n", model="up-b"), model="up-b")
    for _ in range(2):
        up.enqueue(500, {"error": {"message": "upstream exploded"}}, model="up-c")
    up.enqueue(200, ChatServer.completion(CODE, model="up-e"), model="up-e")
    r = ws.doit("implement:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ws.read("src/a.py") == "print('a')\n"
    assert [c["agent"] for c in ledger(ws)][-2:] == ["coder", "backup"]
    lock = ws.read("plans/a/devloop.lock")
    assert "server error (HTTP 500)" in lock and "upstream exploded" in lock


@pytest.mark.parametrize(
    ("setup", "fix"),
    [
        ("wrong-key", f"Next: check the key in {KEY}: 127.0.0.1:PORT refused it (HTTP 400), then doit"),
        ("unknown-model", "Next: agents.planner.model: the server does not know 'no-such-model', then doit"),
        ("upstream-401", f"Next: check the key in {KEY}: 127.0.0.1:PORT refused it (HTTP 401), then doit"),
    ],
)
def test_a_failure_only_setup_can_fix_is_named_and_not_sent_again(
    ws: WS, proxy: LiteLLMProxy, setup: str, fix: str
) -> None:
    model = "no-such-model" if setup == "unknown-model" else "up-a"
    workspace(ws, proxy, agent(proxy, "planner", model), "{planner: planner}")
    if setup == "wrong-key":
        ws.env[KEY] = "sk-not-the-master-key"  # LiteLLM without a key database answers 400 "No connected db."
    if setup == "upstream-401":
        proxy.upstream.enqueue(401, {"error": {"message": "Incorrect API key provided"}}, model="up-a")
    r = ws.doit()
    assert r.returncode == 1
    assert fix.replace("PORT", str(proxy.port)) in r.stdout, r.stdout
    calls = len(ledger(ws))
    again = ws.doit()
    assert again.returncode == 1 and "not asked again" in again.stdout
    assert len(ledger(ws)) == calls  # nothing was sent
    assert "sk-not-the-master-key" not in ws.read("plans/a/devloop.lock")


def test_a_slow_answer_against_the_timeout_is_retried_for_a_judge_never_for_an_author(
    ws: WS, proxy: LiteLLMProxy
) -> None:
    """The proxy keeps waiting on its upstream after devloop gave up: asking again would pay twice."""
    agents = agent(proxy, "planner", "up-a", timeout=1) + agent(proxy, "judge", "up-b", timeout=1, max_retries=3)
    workspace(ws, proxy, agents, "{planner: planner, plan_reviewer: judge}")
    proxy.upstream.enqueue(200, ChatServer.completion(PLAN, model="up-a"), delay=2.5, model="up-a")
    r = ws.doit()
    assert r.returncode == 1 and "timed out after 1s; not retried" in r.stdout
    assert len(proxy.upstream.requests) == 1

    proxy.upstream.reset()
    proxy.upstream.enqueue(200, ChatServer.completion(PLAN, model="up-a"), model="up-a")
    for _ in range(3):
        proxy.upstream.enqueue(200, ChatServer.completion("VERDICT: APPROVE\n", model="up-b"), delay=2.5, model="up-b")
    r = ws.doit()
    assert r.returncode == 1 and "timed out after 1s (after 1 retry); not retried" in r.stdout
    assert [q.body["model"] for q in proxy.upstream.requests] == ["up-a", "up-b", "up-b"]


def test_the_llm_cli_plays_a_reviewer_through_the_proxy_and_its_500s_hand_over_to_a_substitute(
    ws: WS, proxy: LiteLLMProxy, tmp_path: Path
) -> None:
    llm_env = write_llm_config(tmp_path / "llm", proxy.url, proxy.key, ["up-a", "up-f"])
    llm = {"kind": "command", "preset": "llm", "timeout": 60, "env_allow": ["LLM_USER_PATH"]}
    agents = agent(proxy, "planner", "up-b") + agent(proxy, "coder", "up-c") + agent(proxy, "backup", "up-d")
    agents += f"  llm-a: {json.dumps({**llm, 'model': 'up-a'})}\n  llm-f: {json.dumps({**llm, 'model': 'up-f'})}\n"
    roles = "{planner: planner, plan_reviewer: llm-a, implementer: coder, reviewers: [llm-f], adhoc: [backup]}"
    workspace(ws, proxy, agents, roles)
    ws.env["LLM_USER_PATH"] = llm_env["LLM_USER_PATH"]
    ws.env["PATH"] = f"{ws.env['PATH']}:{LLM_BIN.parent}"  # the llm CLI from the test extras
    up = proxy.upstream
    up.enqueue(200, ChatServer.completion(PLAN, model="up-b"), model="up-b")
    up.enqueue(200, ChatServer.completion("VERDICT: APPROVE\n", model="up-a"), model="up-a")
    up.enqueue(200, ChatServer.completion(CODE, model="up-c"), model="up-c")
    for _ in range(12):  # llm's client retries twice itself; devloop retries the reviewer once
        up.enqueue(500, {"error": {"message": "upstream exploded"}}, model="up-f")
    up.enqueue(200, ChatServer.completion("VOTE: PRODUCTION GRADE\n", model="up-d"), model="up-d")
    r = ws.doit("code_review:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "- Reviewer: llm-a (up-a)\n- Verdict: APPROVE" in ws.read("plans/a/plan-review.md")
    assert ws.read("plans/a/review-llm-a-round1.md") == "VERDICT: APPROVE\n\n"  # llm adds a line break
    record = ws.read("plans/a/reviews.md")
    assert "substitute for llm-f" in record and "Error code: 500" in record, record
    entries = {c["agent"]: c for c in ledger(ws)}
    assert entries["llm-f"]["status"] == "unavailable"
