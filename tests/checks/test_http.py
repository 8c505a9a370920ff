"""HTTP checks against a local web server."""

from __future__ import annotations

from collections.abc import Callable

from devloop.checks import CheckContext, run_checks
from tests.checks.helpers import Web, block
from tests.gcp_servers import free_port


def one(item: str, ctx: CheckContext):
    [result] = run_checks(block("smoke:\n" + item).smoke, ctx)
    return result


def test_status_latency_and_body(web: str, make_ctx: Callable[..., CheckContext]) -> None:
    r = one(
        f"  - name: health\n    http: {{url: '{web}/healthz'}}\n"
        "    expect: status == 200 and '\"ok\"' in body and latency_ms < 5000\n",
        make_ctx(),
    )
    assert r.outcome == "PASS", r.line()
    assert r.actual["headers"]["x-served-by"] == "devloop-test" and r.actual["body"] == '{"status": "ok"}'
    assert r.line().startswith(f"PASS health (http) {r.expected} | actual: status=200, latency_ms=")
    assert 'body=\'{"status": "ok"}\'' in r.line()


def test_an_error_status_is_an_observation_not_an_error(web: str, make_ctx: Callable[..., CheckContext]) -> None:
    r = one(f"  - name: health\n    http: {{url: '{web}/status/503'}}\n    expect: status == 200\n", make_ctx())
    assert (r.outcome, r.actual["status"], r.actual["body"]) == ("FAIL", 503, "as you asked")
    r = one(f"  - name: gone\n    http: {{url: '{web}/nope'}}\n    expect: status == 404\n", make_ctx())
    assert r.outcome == "PASS"


def test_templates_fill_url_and_headers_and_post_sends_the_body(
    web: str, make_ctx: Callable[..., CheckContext]
) -> None:
    item = (
        f"  - name: echo\n    http:\n      url: '{web}/echo?feature={{{{ feature }}}}'\n      method: POST\n"
        "      headers: {X-Version: '{{ version }}', X-Day: '{{ today }}'}\n      body: hello\n"
        "    expect: status == 201 and body == 'got hello'\n"
    )
    r = one(item, make_ctx())
    assert r.outcome == "PASS", r.line()
    [seen] = Web.seen
    assert seen["path"] == "/echo?feature=search"
    assert (seen["headers"]["X-Version"], seen["headers"]["X-Day"]) == ("v42", "2024-05-02")
    r = one(item, make_ctx(version=None))
    assert r.outcome == "ERROR" and "'version' is undefined" in r.detail


def test_head_has_no_body(web: str, make_ctx: Callable[..., CheckContext]) -> None:
    r = one(f"  - name: head\n    http: {{url: '{web}/healthz', method: HEAD}}\n    expect: body == ''\n", make_ctx())
    assert (r.outcome, r.actual["status"]) == ("PASS", 200)


def test_a_big_body_is_capped_at_one_megabyte(web: str, make_ctx: Callable[..., CheckContext]) -> None:
    r = one(f"  - name: big\n    http: {{url: '{web}/big'}}\n    expect: body | length > 1000000\n", make_ctx())
    assert r.outcome == "PASS"  # 1 MB plus the cut marker: the expression can tell it was cut
    assert r.actual["body"].endswith("...(1000032 chars)")


def test_connection_refused_is_an_error(make_ctx: Callable[..., CheckContext]) -> None:
    url = f"http://127.0.0.1:{free_port()}/healthz"
    r = one(f"  - name: down\n    http: {{url: '{url}'}}\n    expect: status != 200\n", make_ctx())
    assert r.outcome == "ERROR" and r.detail == f"http: network: connection refused (GET {url})"


def test_no_answer_in_time_is_an_error(web: str, make_ctx: Callable[..., CheckContext]) -> None:
    r = one(f"  - name: slow\n    http: {{url: '{web}/slow', timeout: 300ms}}\n    expect: status == 200\n", make_ctx())
    assert r.outcome == "ERROR" and r.detail.startswith("http: timeout: no answer within 300ms"), r.line()
    assert r.duration_s < 2
