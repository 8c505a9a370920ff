"""Local stand-ins for BigQuery and Cloud Logging, so the demo needs no account and no network.

    python local_gcp.py --state DIR [--project acme-analytics] [--bigquery-port 0] [--logging-port 0]

- BigQuery: the bqemulator emulator (PyPI ``bqemulator``) with the two offline
  adjustments devloop's tests use: the DuckDB spatial extension (a download) is
  not loaded, and the format extensions are off. The real
  google-cloud-bigquery client talks to it with anonymous credentials.
- Cloud Logging: a small HTTP server answering ``POST /v2/entries:list`` the
  way the real google-cloud-logging client calls it. It understands the
  filters the demo uses (``timestamp``, ``severity`` comparisons and
  ``field="value"`` terms joined by AND) and refuses anything else with a 400,
  so a filter it cannot judge is an ERROR in the smoke log, never a silent
  pass. ``POST /demo/entries`` adds entries (the demo's deploy forwards the
  job's log lines there, as Cloud Run would).

Both run in this one process; with ``--own-group`` (as ./scripts/demo starts
it) in a session and process group of its own, which the demo stops with one
signal to the group. In a terminal without it, Ctrl-C stops both. When both answer, ``DIR/ready.json`` holds
their URLs. The process also exits when its parent goes away.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"]
_TERM = re.compile(r'^(?P<field>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>"[^"]*"|\S+)$')


class FilterError(ValueError):
    """A filter the stand-in cannot judge: answered with a 400, never guessed."""


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _field(entry: dict[str, Any], dotted: str) -> Any:
    value: Any = entry
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    return {
        "=": left == right,
        "!=": left != right,
        ">=": left >= right,
        ">": left > right,
        "<=": left <= right,
        "<": left < right,
    }[op]


def matches(entry: dict[str, Any], query: str) -> bool:
    """Whether ``entry`` satisfies ``query``; FilterError for anything but AND-joined simple terms."""
    if re.search(r"\b(OR|NOT)\b", re.sub(r'"[^"]*"', '""', query)):
        raise FilterError("OR and NOT are not supported by the local stand-in")
    terms = [t.strip() for t in query.replace("(", " ").replace(")", " ").split(" AND ") if t.strip()]
    for term in terms:
        m = _TERM.match(term)
        if not m:
            raise FilterError(f"cannot interpret the filter term {term!r}")
        field, op, value = m.group("field"), m.group("op"), m.group("value").strip('"')
        if field == "timestamp":
            if not _compare(op, _moment(entry["timestamp"]), _moment(value)):
                return False
        elif field == "severity":
            if value.upper() not in SEVERITIES:
                raise FilterError(f"unknown severity {value!r}")
            rank = SEVERITIES.index(str(entry.get("severity", "DEFAULT")).upper())
            if not _compare(op, rank, SEVERITIES.index(value.upper())):
                return False
        elif op in ("=", "!="):
            if not _compare(op, str(_field(entry, field)), value):
                return False
        else:
            raise FilterError(f"cannot compare {field} with {op}")
    return True


class LoggingStandIn:
    """Entries in memory, listed page by page like the Logging API."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.entries: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, entries: list[dict[str, Any]]) -> int:
        with self.lock:
            for e in entries:
                e.setdefault("timestamp", datetime.now(UTC).isoformat().replace("+00:00", "Z"))
                e.setdefault("logName", f"projects/{self.project}/logs/run.googleapis.com%2Fstdout")
                e.setdefault("insertId", f"demo-{len(self.entries)}")
                self.entries.append(e)
            return len(self.entries)

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if (method, path) == ("GET", "/healthz"):
            return 200, {"status": "ok", "entries": len(self.entries)}
        if (method, path) == ("POST", "/demo/entries"):
            return 200, {"entries": self.add(list(body.get("entries") or []))}
        if (method, path) != ("POST", "/v2/entries:list"):
            return 404, {"error": {"code": 404, "message": f"no route {method} {path}", "status": "NOT_FOUND"}}
        try:
            with self.lock:
                found = [e for e in self.entries if matches(e, body.get("filter", ""))]
        except (FilterError, KeyError, ValueError) as exc:
            return 400, {"error": {"code": 400, "message": f"local Logging stand-in: {exc}", "status": "INVALID"}}
        offset = int(body.get("pageToken") or 0)
        size = int(body.get("pageSize") or 50)
        page: dict[str, Any] = {"entries": found[offset : offset + size]}
        if offset + size < len(found):
            page["nextPageToken"] = str(offset + size)
        return 200, page


def serve_logging(stand_in: LoggingStandIn, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw) if raw.strip() else {}
            status, answer = stand_in.answer(self.command, self.path.split("?")[0], body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _announce_when_ready(state: Path, bigquery: str, logging_url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{bigquery}/healthz", timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    else:
        print("local_gcp: the BigQuery emulator did not answer within 60 s", file=sys.stderr)
        os._exit(1)
    ready = {"bigquery": bigquery, "logging": logging_url, "pid": os.getpid()}
    tmp = state / "ready.json.tmp"
    tmp.write_text(json.dumps(ready))
    tmp.replace(state / "ready.json")


def _exit_with_parent() -> None:
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True, help="folder for ready.json")
    parser.add_argument("--project", default="acme-analytics")
    parser.add_argument("--bigquery-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--logging-port", type=int, default=0, help="0: a free port")
    parser.add_argument(
        "--own-group", action="store_true", help="run in a new session (background use; Ctrl-C no longer reaches it)"
    )
    args = parser.parse_args(argv)
    if args.own_group:
        try:
            os.setsid()  # a process group of our own: the demo stops everything with one signal
        except OSError:
            pass  # already a group leader
    args.state.mkdir(parents=True, exist_ok=True)
    (args.state / "ready.json").unlink(missing_ok=True)
    threading.Thread(target=_exit_with_parent, daemon=True).start()

    logging_httpd = serve_logging(LoggingStandIn(args.project), args.logging_port)
    logging_url = f"http://127.0.0.1:{logging_httpd.server_address[1]}"
    bq_port = args.bigquery_port or free_port()
    bigquery = f"http://127.0.0.1:{bq_port}"
    threading.Thread(target=_announce_when_ready, args=(args.state, bigquery, logging_url), daemon=True).start()

    os.environ["BQEMU_ENABLE_FORMAT_EXTENSIONS"] = "false"  # a failing avro download adds seconds
    os.environ.setdefault("BQEMU_LOG_LEVEL", "warning")
    from bqemulator.cli import main as bqemulator_main
    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = lambda self: None  # GEOGRAPHY is not needed; INSTALL spatial downloads
    # bqemulator's command line; it serves until SIGTERM
    return bqemulator_main(
        [
            "start",
            "--rest-host",
            "127.0.0.1",
            "--rest-port",
            str(bq_port),
            "--grpc-host",
            "127.0.0.1",
            "--grpc-port",
            str(free_port()),
            "--ephemeral",
            "--project",
            args.project,
            "--log-level",
            "warning",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
