"""Benchmark: what the post-deploy checks cost to import and to run, against local servers.

    .venv/bin/python bench/smoke.py [--repeat 5]

It starts bqemulator (offline adjustments as in tests/gcp_servers.py), a
local Cloud Logging server and a local web server, then prints:

1. import cost, each in a fresh interpreter (median of ``--repeat``): wall
   time of ``import devloop`` and ``import devloop.checks``, then of running
   one http+command check, one BigQuery check and one Logging check, with
   the cumulative ``-X importtime`` of ``google.cloud.*`` and whether any
   ``google`` module was loaded at all;
2. a 10-check smoke run (3 BigQuery, 3 Logging, 2 http, 2 command): once
   cold in a fresh interpreter (imports and client creation included), then
   warm in this process, sequential and with 4 threads.

It prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.gcp_servers import PROJECT, LoggingServer, start_bqemulator  # noqa: E402

TABLE = f"{PROJECT}.bench.events"

SMOKE = """```yaml devloop
smoke:
  - name: partition_present
    bigquery: {{query: 'SELECT COUNT(*) AS n FROM `{table}` WHERE dt = @day', params: {{day: '{{{{ today }}}}'}}}}
    expect: n > 0
  - name: total
    bigquery: {{query: 'SELECT SUM(n) AS total FROM `{table}` WHERE name IN UNNEST(@names)', params: {{names: [a, b]}}}}
    expect: total >= 0
  - name: cost
    bigquery: {{query: 'SELECT * FROM `{table}`', dry_run: true}}
    expect: bytes_processed < 1000000000
  - name: errors_since_deploy
    logging: {{filter: 'severity>=ERROR'}}
    window: 10m
    expect: count < 100
  - name: warnings
    logging: {{filter: 'severity=WARNING', max_entries: 50}}
    window: 1h
    expect: count > 0
  - name: crashes
    logging: {{filter: 'textPayload:"panic"', page_size: 100}}
    window: 30m
    expect: count == 0 or count > 0
  - name: health
    http: {{url: '{web}/healthz'}}
    expect: status == 200
  - name: version
    http: {{url: '{web}/version', headers: {{X-Feature: '{{{{ feature }}}}'}}}}
    expect: status == 200 and 'v1' in body
  - name: cli_ok
    command: {{argv: [echo, ready]}}
    expect: exit_code == 0 and 'ready' in stdout
  - name: script_ok
    command: {{argv: [sh, -c, 'test -d .']}}
    expect: exit_code == 0
```
"""

CHILD = r"""
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
t0 = time.perf_counter()
import devloop.checks
from devloop.checks import CheckContext, parse_check_block, run_checks
from devloop.config.models import GcpConfig
t1 = time.perf_counter()
text, bq, logs, kinds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
block = parse_check_block(text)
checks = [c for c in block.smoke if c.kind in kinds]
gcp = GcpConfig(project=sys.argv[5], credentials="anonymous", bigquery_endpoint=bq, logging_endpoint=logs)
ctx = CheckContext(Path.cwd(), gcp, "bench", "v1", None, datetime.now(UTC))
results = run_checks(checks, ctx)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "run_s": t2 - t1, "outcomes": [r.outcome for r in results],
                  "lines": [r.line() for r in results],
                  "google": sum(1 for m in sys.modules if m == "google" or m.startswith("google."))}))
"""


class Web(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"version": "v1"}' if self.path == "/version" else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_web() -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Web)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    return httpd


def seed(url: str) -> None:
    """A partitioned table with today's rows, through the real client."""
    from datetime import UTC, datetime

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": url})
    client.create_dataset("bench", exists_ok=True)
    schema = [bigquery.SchemaField(n, t) for n, t in (("dt", "DATE"), ("name", "STRING"), ("n", "INT64"))]
    table = bigquery.Table(TABLE, schema=schema)
    table.time_partitioning = bigquery.TimePartitioning(field="dt")
    client.create_table(table, exists_ok=True)
    today = datetime.now(UTC).date().isoformat()
    errors = client.insert_rows_json(TABLE, [{"dt": today, "name": c, "n": i} for i, c in enumerate("abcde")])
    if errors:
        raise SystemExit(f"seeding failed: {errors}")


def seed_logs(server: LoggingServer) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    for minutes in range(0, 60, 2):
        stamp = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        server.add(stamp, severity="ERROR" if minutes % 4 else "WARNING", n=3)


def child(text: str, bq: str, logs: str, kinds: str, importtime: bool = False) -> tuple[float, dict[str, Any], str]:
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", CHILD, text, bq, logs, kinds, PROJECT]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def cumulative_ms(importtime: str, module: str) -> float | None:
    """The cumulative microseconds ``-X importtime`` reports for ``module``, in ms (None if not imported)."""
    for line in importtime.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module and parts[1].isdigit():
            return int(parts[1]) / 1000
    return None


def bare_import(module: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devloop-bench-smoke-") as tmp:
        emulator = start_bqemulator(Path(tmp) / "emulator.log")
        logs, web = LoggingServer(), start_web()
        logs.start()
        try:
            print(f"bqemulator ready in {emulator.start_s:.2f}s at {emulator.url}")
            seed(emulator.url)
            seed_logs(logs)
            text = SMOKE.format(table=TABLE, web=f"http://127.0.0.1:{web.server_address[1]}")
            report(text, emulator.url, logs, args.repeat)
        finally:
            logs.stop()
            web.shutdown()
            emulator.stop()


def report(text: str, bq: str, logs: LoggingServer, repeat: int) -> None:
    print("\n1. import cost (fresh interpreter, median of", repeat, "runs)")
    print(f"   python -c 'pass'            {bare_import('sys', repeat) * 1000:7.0f} ms wall")
    print(f"   import devloop              {bare_import('devloop', repeat) * 1000:7.0f} ms wall")
    print(f"   import devloop.checks       {bare_import('devloop.checks', repeat) * 1000:7.0f} ms wall (lazy)")
    print(f"   import devloop.checks.model {bare_import('devloop.checks.model', repeat) * 1000:7.0f} ms wall")
    for label, kinds in (("2 http + 2 command", "http,command"), ("3 bigquery", "bigquery"), ("3 logging", "logging")):
        walls, runs = [], []
        for _ in range(repeat):
            wall, out, _ = child(text, bq, logs.url, kinds)
            walls.append(wall)
            runs.append(out["run_s"])
        _, out, importtime = child(text, bq, logs.url, kinds, importtime=True)
        google = {m: cumulative_ms(importtime, m) for m in ("google.cloud.bigquery", "google.cloud.logging")}
        loaded = ", ".join(f"{m.split('.')[-1]} {v:.0f} ms" for m, v in google.items() if v) or "none"
        print(
            f"   run {label:<22} {statistics.median(walls) * 1000:7.0f} ms wall, checks"
            f" {statistics.median(runs) * 1000:5.0f} ms, google modules loaded: {out['google']}"
            f" (google.cloud import: {loaded}); outcomes {out['outcomes']}"
        )

    print("\n2. a 10-check smoke run (3 bigquery, 3 logging, 2 http, 2 command)")
    wall, out, _ = child(text, bq, logs.url, "bigquery,logging,http,command")
    print(
        f"   cold, fresh interpreter: {wall * 1000:.0f} ms wall = import {out['import_s'] * 1000:.0f} ms"
        f" + checks {out['run_s'] * 1000:.0f} ms; outcomes: {sorted(set(out['outcomes']))}"
    )
    from datetime import UTC, datetime

    from devloop.checks import CheckContext, parse_check_block, run_checks
    from devloop.config.models import GcpConfig

    block = parse_check_block(text)
    assert block is not None
    gcp = GcpConfig(project=PROJECT, credentials="anonymous", bigquery_endpoint=bq, logging_endpoint=logs.url)
    for jobs in (1, 4):
        times, results = [], []
        for _ in range(repeat):
            ctx = CheckContext(REPO, gcp, "bench", "v1", None, datetime.now(UTC))
            start = time.perf_counter()
            results = run_checks(block.smoke, ctx, jobs=jobs)
            times.append(time.perf_counter() - start)
        print(f"   warm, jobs={jobs}: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms")
    print("   lines of the last run:")
    for r in results:
        print("     " + r.line())


if __name__ == "__main__":
    main()
