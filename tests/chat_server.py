"""A tiny real OpenAI-compatible HTTP server for tests: scripted responses, recorded requests.

Usage in a test module::

    from tests.chat_server import ChatServer, chat_server_fixture  # noqa: F401  (registers `chat_server`)

    def test_x(chat_server):
        chat_server.enqueue(200, chat_server.completion("hi"))
        ... OpenAIAgent(..., base_url=chat_server.url) ...
        assert chat_server.requests[0].body["model"] == "m"
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Scripted:
    """One response: status, a JSON-able body (or raw bytes), extra headers, seconds to wait before answering.

    A header whose value is None is left out; ``{"Content-Length": None}`` sends the body without a length
    and closes the connection after it. ``trickle`` > 0 sends the body (or, with ``trickle_head``, everything
    from the status line on) one byte every ``trickle`` seconds, as a server that is alive but slow.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str | None] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0
    trickle_head: bool = False


@dataclass
class Recorded:
    """One request as the server saw it; ``body`` is the parsed JSON, or None if it was not JSON."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any


class ChatServer:
    """Serves ``POST /v1/chat/completions`` from a queue of scripted responses on 127.0.0.1."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.trickles_finished = 0  # trickled responses sent to the end (the client never hung up)
        self.hangups = 0  # delayed responses whose client hung up during the delay (nothing was sent)
        self._queue: deque[Scripted] = deque()
        self._by_model: dict[str, deque[Scripted]] = {}  # answers kept for one requested model
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping in a scripted delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def enqueue(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str | None] | None = None,
        delay: float = 0.0,
        trickle: float = 0.0,
        trickle_head: bool = False,
        model: str | None = None,
    ) -> None:
        """Add one response; requests take them in order. An empty queue answers 500.

        With ``model``, the response is kept for requests whose body names that model (first their own
        queue, then the shared one), so callers on different models, in parallel, each get their own answer.
        """
        with self._lock:
            scripted = Scripted(status, body, dict(headers or {}), delay, trickle, trickle_head)
            if model is None:
                self._queue.append(scripted)
            else:
                self._by_model.setdefault(model, deque()).append(scripted)

    def reset(self) -> None:
        """Forget every scripted response not yet served and every recorded request."""
        with self._lock:
            self._queue.clear()
            self._by_model.clear()
            self.requests.clear()
            self.trickles_finished = 0
            self.hangups = 0

    @staticmethod
    def completion(
        text: str | None = "hello",
        *,
        model: str = "served-model",
        finish_reason: str | None = "stop",
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A chat-completions response body in OpenAI's shape."""
        body: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
            ],
        }
        if usage is not None:
            body["usage"] = usage
        return body

    # -- used by the handler -----------------------------------------------------
    def _next(self, recorded: Recorded, routed: bool) -> Scripted:
        """Record the request; answer it from the queue, or 404 off the one route (the queue is kept)."""
        with self._lock:
            self.requests.append(recorded)
            if not routed:
                return Scripted(404, {"error": {"message": f"no route {recorded.path}"}})
            model = recorded.body.get("model") if isinstance(recorded.body, dict) else None
            own = self._by_model.get(model) if isinstance(model, str) else None
            if own:
                return own.popleft()
            if self._queue:
                return self._queue.popleft()
        return Scripted(500, {"error": {"message": "chat_server: no scripted response left"}})


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            headers = {k: v for k, v in self.headers.items()}
            routed = self.path.rstrip("/") == "/v1/chat/completions"
            scripted = server._next(Recorded("POST", self.path, headers, raw, body), routed)
            if scripted.delay and not self._wait(scripted.delay):
                return
            payload = scripted.body if isinstance(scripted.body, bytes) else json.dumps(scripted.body).encode()
            given = {k.lower(): v for k, v in scripted.headers.items()}
            try:
                self.send_response(scripted.status)
                if "content-type" not in given:
                    self.send_header("Content-Type", "application/json")
                if "content-length" not in given:
                    self.send_header("Content-Length", str(len(payload)))
                elif given["content-length"] is None:  # no length: the body ends when the connection closes
                    self.send_header("Connection", "close")
                    self.close_connection = True
                for name, value in scripted.headers.items():
                    if value is not None:
                        self.send_header(name, value)
                if scripted.trickle:
                    self._trickle(scripted, payload)
                    return
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test): nothing to tell it

        def _wait(self, seconds: float) -> bool:
            """Sleep out a scripted delay; False if the server stops or the client hangs up meanwhile."""
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                if server._stop.wait(min(left, 0.05)):
                    return False
                if _hung_up(self.connection):
                    with server._lock:
                        server.hangups += 1
                    return False
            return True

        def _trickle(self, scripted: Scripted, payload: bytes) -> None:
            """Send the (head and) body a byte at a time; stop when the client hangs up or the server stops."""
            self._headers_buffer.append(b"\r\n")
            head = b"".join(self._headers_buffer)
            self._headers_buffer = []
            slow = head + payload if scripted.trickle_head else payload
            if not scripted.trickle_head:
                self.wfile.write(head)
                self.wfile.flush()
            for i in range(len(slow)):
                if server._stop.wait(scripted.trickle):
                    return
                self.wfile.write(slow[i : i + 1])
                self.wfile.flush()
            with server._lock:
                server.trickles_finished += 1

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


def _hung_up(sock: socket.socket) -> bool:
    """Whether the peer closed its end (EOF waiting on the socket); pending bytes are left unread."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


@pytest.fixture(name="chat_server")
def chat_server_fixture() -> Iterator[ChatServer]:
    """The ``chat_server`` fixture: a started :class:`ChatServer`, stopped after the test."""
    server = ChatServer().start()
    try:
        yield server
    finally:
        server.stop()
