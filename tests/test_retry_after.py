"""Reading how long a server asks to wait, from every header users meet."""

from __future__ import annotations

import pytest

from devloop.agents.retry_after import duration, retry_after, server_wait

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5", 0.5), ("250us", 0.00025),
     ("7", 7.0), (" 2S ", 2.0)],
)  # fmt: skip
def test_durations_as_openai_and_vllm_send_them(text: str, seconds: float) -> None:
    assert duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "1x", "s", "-3", "1s2", "nan", "inf", "1s junk"])
def test_a_duration_that_is_not_one_is_none(text: str) -> None:
    assert duration(text) is None


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert retry_after("120", NOW) == 120.0
    assert retry_after("Tue, 14 Nov 2023 22:14:00 GMT", NOW) == pytest.approx(40.0)
    assert retry_after("Tue, 14 Nov 2023 22:00:00 GMT", NOW) == 0.0  # past: at once, never negative
    assert retry_after("-5", NOW) is None and retry_after("tomorrow", NOW) is None and retry_after(None, NOW) is None


def test_the_most_precise_header_wins_and_says_its_name() -> None:
    assert server_wait({"retry-after-ms": "1500", "retry-after": "9"}, NOW) == (1.5, "retry-after-ms")
    assert server_wait({"retry-after": "9", "x-ratelimit-reset-requests": "1m"}, NOW) == (9.0, "retry-after")
    assert server_wait({"llm_provider-retry-after": "60"}, NOW) == (60.0, "llm_provider-retry-after")
    assert server_wait({"x-ratelimit-reset-tokens": "3s"}, NOW) == (3.0, "x-ratelimit-reset-tokens")
    assert server_wait({"llm_provider-x-ratelimit-reset-requests": "2s"}, NOW) == (
        2.0,
        "llm_provider-x-ratelimit-reset-requests",
    )
    assert server_wait({"retry-after": "junk"}, NOW) is None
    assert server_wait({}, NOW) is None


def test_the_exhausted_limit_decides_which_reset_is_waited_for() -> None:
    both = {"x-ratelimit-reset-requests": "30s", "x-ratelimit-reset-tokens": "2s"}
    assert server_wait(both, NOW) == (30.0, "x-ratelimit-reset-requests")  # unknown which: the longer
    tokens_out = {**both, "x-ratelimit-remaining-tokens": "0", "x-ratelimit-remaining-requests": "10"}
    assert server_wait(tokens_out, NOW) == (2.0, "x-ratelimit-reset-tokens")
