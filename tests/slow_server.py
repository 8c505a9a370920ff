"""A local JSON server that answers as slowly as a test asks: headers or body a byte at a time, or pages late.

Each read the client makes gets a byte well within any per-read timeout, so
only a total deadline ends the exchange. ``finished`` records the answers
the server got to send in full: a deadline that works leaves it short.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]  # (path, request body) -> JSON answer


class DripServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Answer, pace: str, step: float) -> None:
        super().__init__(("127.0.0.1", 0), _Drip)
        self.answer, self.pace, self.step = answer, pace, step
        self.stop = threading.Event()
        self.finished: list[str] = []
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Drip(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DripServer

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0]
        self.server.requests.append(path)
        body = json.dumps(self.server.answer(path, json.loads(raw) if raw.strip() else {})).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        pace = self.server.pace
        try:
            if pace == "never":  # accepted, read, and never answered
                self.server.stop.wait()
                return
            if pace == "head":
                self._drip(head)
                self._write(body)
            elif pace == "body":
                self._write(head)
                self._drip(body)
            else:  # "late": each answer whole, but only after a pause
                if self.server.stop.wait(self.server.step):
                    return
                self._write(head + body)
        except OSError:
            return  # the client hung up: what a deadline does
        self.server.finished.append(path)

    do_GET = do_POST = _serve

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def _drip(self, data: bytes) -> None:
        for i in range(len(data)):
            if self.server.stop.wait(self.server.step):
                raise OSError("server stopped")
            self._write(data[i : i + 1])

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def drip_server(answer: Answer, pace: str, step: float = 0.05) -> Iterator[DripServer]:
    """Serve ``answer`` at ``pace`` ("head", "body", "late" or "never") until the block ends."""
    server = DripServer(answer, pace, step)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
