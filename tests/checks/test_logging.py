"""Logging checks through the real google-cloud-logging client, against a local entries:list server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from devloop.after_deploy.checks import CheckContext, evaluate_triggers, run_checks
from devloop.runtime.errors import ConfigError
from tests.checks.helpers import NOW, block
from tests.gcp_servers import PROJECT, LoggingServer
from tests.slow_server import drip_server

FILTER = 'severity>=ERROR AND resource.type="cloud_run_revision"'


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def trigger(fire_when: str = "count > 50", window: str = "10m", **logging: object) -> str:
    extra = "".join(f", {k}: {v}" for k, v in logging.items())
    return (
        f"rollback_triggers:\n  - name: error_rate\n    logging: {{filter: '{FILTER}'{extra}}}\n"
        f"    window: {window}\n    fire_when: {fire_when}\n"
    )


def test_count_is_the_entries_inside_the_window_and_the_window_is_in_the_filter(
    logging_server: LoggingServer, make_ctx: Callable[..., CheckContext]
) -> None:
    logging_server.add(at(5), n=3)  # inside the last 10 minutes
    logging_server.add(at(20), n=4)  # before the window
    logging_server.add(at(-1), n=2)  # after "now"
    ctx = make_ctx(logging=logging_server.url)
    [r] = evaluate_triggers(block(trigger("count > 2")).rollback_triggers, ctx, NOW)
    assert (r.outcome, r.actual["count"], r.fired) == ("FAIL", 3, True), r.line()
    assert r.line().startswith("FIRED error_rate (logging) count > 2 | actual: count=3 | ")
    [request] = logging_server.requests
    assert request.path == "/v2/entries:list"
    assert request.body["resourceNames"] == [f"projects/{PROJECT}"]
    assert request.filter == (
        f'({FILTER}) AND timestamp>="2024-05-02T11:50:00.000000Z" AND timestamp<"2024-05-02T12:00:00.000000Z"'
    )


def test_a_quiet_window_does_not_fire(logging_server: LoggingServer, make_ctx: Callable[..., CheckContext]) -> None:
    logging_server.add(at(30), n=100)
    [r] = evaluate_triggers(block(trigger()).rollback_triggers, make_ctx(logging=logging_server.url), NOW)
    assert (r.outcome, r.actual["count"], r.fired) == ("PASS", 0, False)
    assert r.line().startswith("not fired error_rate (logging) count > 50 | actual: count=0 | ")


def test_the_trigger_window_ends_at_the_now_it_is_given(
    logging_server: LoggingServer, make_ctx: Callable[..., CheckContext]
) -> None:
    logging_server.add(at(30), n=60)
    later = NOW - timedelta(minutes=25)  # a monitoring tick 25 minutes earlier sees them
    [r] = evaluate_triggers(block(trigger()).rollback_triggers, make_ctx(logging=logging_server.url), later)
    assert (r.actual["count"], r.fired) == (60, True)
    assert 'timestamp<"2024-05-02T11:35:00.000000Z"' in logging_server.requests[0].filter


def test_paging_follows_next_page_tokens(logging_server: LoggingServer, make_ctx: Callable[..., CheckContext]) -> None:
    logging_server.add(at(1), n=25)
    triggers = block(trigger("count > 20", page_size=10, max_entries=100)).rollback_triggers
    [r] = evaluate_triggers(triggers, make_ctx(logging=logging_server.url), NOW)
    assert (r.actual["count"], r.actual["capped"], r.fired) == (25, False, True)
    pages = [(q.body["pageSize"], q.body.get("pageToken")) for q in logging_server.requests]
    assert pages == [(10, None), (10, "10"), (10, "20")]


def test_more_than_k_reads_k_plus_one_entries_in_one_call(
    logging_server: LoggingServer, make_ctx: Callable[..., CheckContext]
) -> None:
    logging_server.add(at(2), n=500)
    [r] = evaluate_triggers(
        block(trigger("count > 50", max_entries=50)).rollback_triggers, make_ctx(logging=logging_server.url), NOW
    )
    assert (r.actual["count"], r.actual["capped"], r.fired) == (51, True, True)
    assert [q.body["pageSize"] for q in logging_server.requests] == [51]


def test_permission_denied_is_an_error_not_a_quiet_window(
    logging_server: LoggingServer, make_ctx: Callable[..., CheckContext]
) -> None:
    logging_server.error = (403, "The caller does not have permission")
    [r] = evaluate_triggers(block(trigger()).rollback_triggers, make_ctx(logging=logging_server.url), NOW)
    assert (r.outcome, r.fired) == ("ERROR", False)
    assert r.detail == "logging: auth: The caller does not have permission"
    assert r.line().startswith("ERROR error_rate (logging) count > 50 | error: logging: auth: The caller does not")


def test_a_smoke_check_without_a_window_counts_since_the_deploy(
    logging_server: LoggingServer, make_ctx: Callable[..., CheckContext]
) -> None:
    logging_server.add(at(10), n=2)  # after the deploy at 11:30
    logging_server.add(at(45), n=7)  # before it
    smoke = block(f"smoke:\n  - name: no_errors\n    logging: {{filter: '{FILTER}'}}\n    expect: count == 0\n").smoke
    [r] = run_checks(smoke, make_ctx(logging=logging_server.url))
    assert (r.outcome, r.actual["count"]) == ("FAIL", 2), r.line()
    assert 'timestamp>="2024-05-02T11:30:00.000000Z"' in logging_server.requests[0].filter
    [r] = run_checks(smoke, make_ctx(logging=logging_server.url, deploy_time=None))
    assert r.outcome == "ERROR" and "no window" in r.detail


def test_an_unreachable_endpoint_is_a_network_error(make_ctx: Callable[..., CheckContext]) -> None:
    from tests.gcp_servers import free_port

    ctx = make_ctx(logging=f"http://127.0.0.1:{free_port()}")
    [r] = evaluate_triggers(block(trigger()).rollback_triggers, ctx, NOW)
    assert (r.outcome, r.detail) == ("ERROR", "logging: network: [Errno 111] Connection refused")


# -- one deadline for every page -----------------------------------------------------------------------
def one_entry_page(token: str | None) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """entries:list answered with one entry in the window, and a next page when ``token`` is given."""

    def answer(path: str, body: dict[str, Any]) -> dict[str, Any]:
        entry = {"logName": f"projects/{PROJECT}/logs/x", "timestamp": at(1), "severity": "ERROR", "insertId": "i"}
        page: dict[str, Any] = {"entries": [entry]}
        if token:
            page["nextPageToken"] = token
        return page

    return answer


@pytest.mark.parametrize("pace", ["head", "body"])
def test_a_server_trickling_its_answer_ends_the_check_at_its_timeout(
    pace: str, make_ctx: Callable[..., CheckContext]
) -> None:
    """Every read gets a byte within the client's own per-read timeout (60 s); only the total deadline ends it."""
    with drip_server(one_entry_page(None), pace) as server:
        ctx = make_ctx(logging=server.url)
        [r] = evaluate_triggers(block(trigger("count > 5", timeout="1s")).rollback_triggers, ctx, NOW)
        assert (r.outcome, r.detail) == ("ERROR", "logging: timeout: no complete answer within 1s"), r.line()
        assert server.requests == ["/v2/entries:list"] and server.finished == []  # still sending when dropped


def test_pages_that_each_come_in_time_still_share_one_deadline(make_ctx: Callable[..., CheckContext]) -> None:
    """A server that always has one more page, each 0.3 s late: the check ends at its 1 s, not at max_entries."""
    with drip_server(one_entry_page("more"), "late", step=0.3) as server:
        ctx = make_ctx(logging=server.url)
        [r] = evaluate_triggers(block(trigger("count > 5000", timeout="1s", page_size=1)).rollback_triggers, ctx, NOW)
        assert (r.outcome, r.detail) == ("ERROR", "logging: timeout: no complete answer within 1s"), r.line()
        assert 2 <= len(server.finished) < 5000  # several pages were served, each within any per-request limit


def test_the_timeout_has_a_default_and_is_checked(make_ctx: Callable[..., CheckContext]) -> None:
    [t] = block(trigger()).rollback_triggers
    assert t.logging is not None and t.logging.timeout is None  # gcp.query_timeout applies
    with pytest.raises(ConfigError, match=r"rollback_triggers\.0\.logging\.timeout"):
        block(trigger(timeout="soon"))


def test_a_server_that_accepts_and_never_answers_is_an_error_at_the_deadline(
    make_ctx: Callable[..., CheckContext],
) -> None:
    with drip_server(one_entry_page(None), "never") as server:
        ctx = make_ctx(logging=server.url)
        [r] = evaluate_triggers(block(trigger("count > 5", timeout="1s")).rollback_triggers, ctx, NOW)
        assert (r.outcome, r.detail) == ("ERROR", "logging: timeout: no complete answer within 1s"), r.line()
        assert not r.fired  # an ERROR is never read as "did not fire" either: it is its own outcome
