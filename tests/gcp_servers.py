"""Real local peers for the GCP checks: the bqemulator BigQuery emulator and a Cloud Logging REST server.

Usage in a test module::

    from tests.gcp_servers import bq_emulator_fixture, logging_server_fixture  # noqa: F401

``bq_emulator`` (session) runs bqemulator in a child process of its own
(``python -c LAUNCHER``), with the offline adjustments from
shared/notes/gcp-offline-testing.md: the DuckDB spatial extension (a
download) becomes a no-op and the format extensions are off. By hand::

    python tests/gcp_servers.py 9050 9060 devloop-test

``logging_server`` (per test) speaks ``POST /v2/entries:list`` the way the
real google-cloud-logging client calls it: scripted entries, paging by
``pageSize``/``pageToken``, the ``timestamp>=``/``timestamp<`` bounds of the
filter applied (the rest of the filter is recorded, not interpreted), and an
optional scripted error such as 403.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PROJECT = "devloop-test"


# -- BigQuery: bqemulator in a child process -------------------------------------------------------
@dataclass
class Emulator:
    proc: subprocess.Popen[bytes]
    port: int
    project: str
    log: Path
    start_s: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_group(self.proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a server's process group, SIGKILL it if it lingers: nothing outlives the session."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_bqemulator(log: Path, project: str = PROJECT, ready_within: float = 30.0) -> Emulator:
    """Start the emulator and wait until ``/healthz`` answers; RuntimeError with its log if it does not."""
    port, grpc_port = free_port(), free_port()
    argv = [sys.executable, "-c", LAUNCHER, str(port), str(grpc_port), project]
    env = {**os.environ, "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false", "BQEMU_LOG_LEVEL": "warning"}
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    emulator = Emulator(proc, port, project, log, 0.0)
    deadline = start + ready_within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{emulator.url}/healthz", timeout=1):
                emulator.start_s = time.monotonic() - start
                return emulator
        except OSError:
            time.sleep(0.05)
    emulator.stop()
    raise RuntimeError(f"bqemulator did not start (exit {proc.returncode}):\n{log.read_text()[-3000:]}")


# The child's whole program: no pytest, no devloop, just the offline adjustments and bqemulator's CLI.
LAUNCHER = """
import os, sys, threading, time
parent = os.getppid()
def orphaned():  # the test process died without stopping us (kill -9, CI timeout): go too
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=orphaned, daemon=True).start()
from bqemulator.cli import main
from bqemulator.storage.engine import DuckDBEngine
DuckDBEngine._load_spatial = lambda self: None  # GEOGRAPHY is not needed; INSTALL spatial downloads
os.environ["BQEMU_ENABLE_FORMAT_EXTENSIONS"] = "false"  # a failing avro download adds seconds
port, grpc_port, project = sys.argv[1:4]
main(["start", "--rest-host", "127.0.0.1", "--rest-port", port, "--grpc-host", "127.0.0.1",
      "--grpc-port", grpc_port, "--ephemeral", "--project", project, "--log-level", "warning"])
"""


@pytest.fixture(name="bq_emulator", scope="session")
def bq_emulator_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = start_bqemulator(tmp_path_factory.mktemp("bqemulator") / "emulator.log")
    try:
        yield emulator
    finally:
        emulator.stop()


# -- a JSON-over-HTTP server that records what the real clients send ------------------------------
@dataclass
class Request:
    method: str
    path: str  # without the query string
    body: dict[str, Any]

    @property
    def filter(self) -> str:
        return self.body.get("filter", "")


class JsonServer:
    """Serves ``answer(method, path, body) -> (status, json)`` on 127.0.0.1 and records every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _json_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> JsonServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        return 404, {"error": {"code": 404, "message": f"no route {method} {path}"}}


def _json_handler(server: JsonServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw.strip() else {}
            path = self.path.split("?")[0]
            server.requests.append(Request(self.command, path, body))
            status, answer = server.answer(self.command, path, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


# -- Cloud Logging: entries:list -------------------------------------------------------------------
_BOUND = re.compile(r'timestamp\s*(>=|>|<=|<)\s*"([^"]+)"')


class LoggingServer(JsonServer):
    """``entries`` answered page by page; ``error = (403, "...")`` makes every call fail that way."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, Any]] = []
        self.error: tuple[int, str] | None = None

    def add(self, timestamp: str, severity: str = "ERROR", text: str = "boom", n: int = 1) -> None:
        for _ in range(n):
            i = len(self.entries)
            self.entries.append(
                {
                    "logName": f"projects/{PROJECT}/logs/run.googleapis.com%2Fstderr",
                    "resource": {"type": "cloud_run_revision", "labels": {"service_name": "svc"}},
                    "timestamp": timestamp,
                    "severity": severity,
                    "insertId": f"id{i}",
                    "textPayload": f"{text} {i}",
                }
            )

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """One page of the entries inside the filter's timestamp bounds."""
        if (method, path) != ("POST", "/v2/entries:list"):
            return super().answer(method, path, body)
        if self.error:
            status, message = self.error
            return status, {"error": {"code": status, "message": message, "status": "PERMISSION_DENIED"}}
        matching = [e for e in self.entries if _in_bounds(e["timestamp"], body.get("filter", ""))]
        offset = int(body.get("pageToken") or 0)
        size = int(body.get("pageSize") or 50)
        page: dict[str, Any] = {"entries": matching[offset : offset + size]}
        if offset + size < len(matching):
            page["nextPageToken"] = str(offset + size)
        return 200, page


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _in_bounds(timestamp: str, query: str) -> bool:
    at = _moment(timestamp)
    ops = {">=": at.__ge__, ">": at.__gt__, "<=": at.__le__, "<": at.__lt__}
    return all(ops[op](_moment(value)) for op, value in _BOUND.findall(query))


@pytest.fixture(name="logging_server")
def logging_server_fixture() -> Iterator[LoggingServer]:
    server = LoggingServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":  # python tests/gcp_servers.py PORT GRPC_PORT PROJECT: run an emulator by hand
    exec(LAUNCHER)
