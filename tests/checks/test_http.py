"""HTTP checks against local web servers, including ones that answer a byte at a time."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devloop.after_deploy.checks import CheckContext, run_checks
from tests.checks.helpers import Web, block
from tests.gcp_servers import free_port

DRIP_BYTES = 100  # what a trickling server sends, one byte per DRIP_STEP: 20 s in all
DRIP_STEP = 0.2


def one(item: str, ctx: CheckContext):
    [result] = run_checks(block("smoke:\n" + item).smoke, ctx)
    return result


@dataclasses.dataclass(frozen=True)
class AllowingContext(CheckContext):
    """A context carrying devloop.yaml's ``checks.http_methods`` (as smoke and monitor pass it)."""

    http_methods: tuple[str, ...] = ()


def allowing(ctx: CheckContext, *methods: str) -> CheckContext:
    fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)}
    return AllowingContext(**{**fields, "http_methods": methods})


class Trickle(BaseHTTPRequestHandler):
    """/head: headers a byte at a time; /body: a sized body a byte at a time; /unsized: the same, no length."""

    protocol_version = "HTTP/1.1"
    server: TrickleServer

    def do_GET(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        body = b"x" * DRIP_BYTES
        self.close_connection = True
        if self.path == "/head":
            self._drip(head + b"X-Slow: " + b"a" * DRIP_BYTES + b"\r\nContent-Length: 2\r\n\r\nok")
        elif self.path == "/body":
            self._write(head + f"Content-Length: {DRIP_BYTES}\r\n\r\n".encode())
            self._drip(body)
        elif self.path == "/unsized":  # the body ends when the connection closes: a cut one looks whole
            self._write(head + b"Connection: close\r\n\r\n")
            self._drip(body)

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def _drip(self, data: bytes) -> None:
        try:
            for i in range(len(data)):
                if self.server.stop.wait(DRIP_STEP):
                    return
                self._write(data[i : i + 1])
        except OSError:
            return  # the client hung up: what a deadline does
        self.server.finished.append(self.path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TrickleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Trickle)
        self.stop = threading.Event()
        self.finished: list[str] = []


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    """A local server that sends its answers a byte every DRIP_STEP seconds; stopped after the test."""
    server = TrickleServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
    r = one(item, allowing(make_ctx(), "POST"))
    assert r.outcome == "PASS", r.line()
    [seen] = Web.seen
    assert seen["path"] == "/echo?feature=search"
    assert (seen["headers"]["X-Version"], seen["headers"]["X-Day"]) == ("v42", "2024-05-02")
    r = one(item, allowing(make_ctx(version=None), "POST"))
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


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/head", "http: timeout: no answer within 1s"),
        ("/body", "http: timeout: no complete body within 1s"),
        ("/unsized", "http: timeout: no complete body within 1s"),
    ],
)
def test_the_timeout_is_total_against_a_server_trickling_bytes(
    trickle: TrickleServer, make_ctx: Callable[..., CheckContext], path: str, detail: str
) -> None:
    """Each read gets a byte within urllib's per-read timeout; only a total deadline ends the call."""
    url = f"http://127.0.0.1:{trickle.server_address[1]}{path}"
    r = one(f"  - name: drip\n    http: {{url: '{url}', timeout: 1s}}\n    expect: body | length >= 0\n", make_ctx())
    assert (r.outcome, r.detail) == ("ERROR", f"{detail} (GET {url})"), r.line()
    assert r.line().startswith("ERROR drip (http) ")
    assert trickle.finished == []  # the check gave up while the server was still sending


def test_a_writing_method_is_refused_unless_devloop_yaml_allows_it(
    web: str, make_ctx: Callable[..., CheckContext]
) -> None:
    item = f"  - name: poke\n    http: {{url: '{web}/echo', method: POST, body: hi}}\n    expect: status == 201\n"
    r = one(item, make_ctx())
    assert r.outcome == "ERROR" and r.line().startswith("ERROR poke (http) "), r.line()
    assert "method POST is not allowed" in r.detail and "checks.http_methods" in r.detail
    assert Web.seen == []  # refused before anything was sent
    r = one(item, allowing(make_ctx(), "PUT"))  # allowing another method is not allowing this one
    assert r.outcome == "ERROR" and Web.seen == []
    r = one(item, allowing(make_ctx(), "POST"))
    assert r.outcome == "PASS", r.line()
    assert [(s["method"], s["body"]) for s in Web.seen] == [("POST", "hi")]


def test_get_and_head_need_no_allowance(web: str, make_ctx: Callable[..., CheckContext]) -> None:
    for method in ("GET", "HEAD"):
        item = f"  - name: read\n    http: {{url: '{web}/healthz', method: {method}}}\n    expect: status == 200\n"
        assert one(item, make_ctx()).outcome == "PASS"
    assert [s["method"] for s in Web.seen] == ["GET", "HEAD"]


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ("{X-HTTP-Method-Override: DELETE}", ""),
        ("{X-HTTP-Method: PUT}", ""),
        ("{X-Method-Override: delete}", ""),
        ("{X-Original-Method: PATCH}", ""),
        ("{}", "?_method=DELETE"),
        ("{}", "?x=1&method=put"),
    ],
)
def test_a_get_that_tunnels_a_writing_method_is_refused(
    web: str, make_ctx: Callable[..., CheckContext], headers: str, query: str
) -> None:
    """Frameworks honour method-override headers and parameters: a GET carrying one is the method it names."""
    http = f"{{url: '{web}/healthz{query}', headers: {headers}}}"
    item = f"  - name: tunnel\n    http: {http}\n    expect: status > 0\n"
    r = one(item, make_ctx())
    assert r.outcome == "ERROR" and "is not allowed" in r.detail and "checks.http_methods" in r.detail, r.line()
    assert Web.seen == []  # nothing was sent
    named = (headers.split(": ")[1].rstrip("}") if ": " in headers else query.rsplit("=", 1)[1]).upper()
    r = one(item, allowing(make_ctx(), named))
    assert r.outcome == "PASS" and len(Web.seen) == 1, r.line()  # allowed in devloop.yaml: sent
    assert one("  - name: safe\n    http: {url: '" + web + "/healthz', headers: {X-HTTP-Method-Override: GET}}\n"
               "    expect: status == 200\n", make_ctx()).outcome == "PASS"  # fmt: skip
