"""Shared by the check tests (imported as ``tests.checks.helpers`` so there is one copy of each)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from devloop.after_deploy.checks import CheckBlock, parse_check_block

NOW = datetime(2024, 5, 2, 12, 0, 0, tzinfo=UTC)  # today = 2024-05-02, yesterday = 2024-05-01
DEPLOY_TIME = "2024-05-02T11:30:00+00:00"


def block(yaml_text: str) -> CheckBlock:
    """A validation.md holding ``yaml_text`` as its devloop block, parsed."""
    parsed = parse_check_block(f"# Validation\n\n```yaml devloop\n{yaml_text}```\n")
    assert parsed is not None
    return parsed


class Web(BaseHTTPRequestHandler):
    """/healthz 200 ok, /status/<code>, /slow (sleeps 3 s), /big (2 MB), /echo (POST: method, headers, body)."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]] = []  # noqa: RUF012  (one server per test; reset by the fixture)

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", "devloop-test")
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the check gave up waiting (timeout test)

    def do_GET(self) -> None:
        Web.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
        if self.path == "/healthz":
            self._send(200, b'{"status": "ok"}', "application/json")
        elif self.path.startswith("/status/"):
            self._send(int(self.path.rsplit("/", 1)[1]), b"as you asked")
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, b"late")
        elif self.path == "/big":
            self._send(200, b"x" * 2_000_000)
        else:
            self._send(404, b"no such page")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Web.seen.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": raw.decode()})
        self._send(201, b"got " + raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass
