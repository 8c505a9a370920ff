"""Stand-in for deploying daily-ingest and its 06:00 run, against the local servers.

    python deploy.py --workspace DIR --bigquery URL --logging URL [--project acme-analytics]

What a real deploy does, and what this does instead:

- `bq query < deploy/daily-ingest/tables.sql`: the same DDL, run on the emulator.
- IAM bindings, the Cloud Run job and the workflow: nothing local to apply; listed.
- The 06:00 Asia/Singapore run of the workflow: the job itself, run here as
  ``python -m ingest.daily_events --scheduled-time <today>T06:00:00+08:00``,
  exactly the override the workflow passes. Its JSON log lines are forwarded
  to the Logging stand-in as Cloud Run job entries, as Cloud Run would.

Exit code: the job's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

FEATURE = "daily-ingest"


def forward(logging_url: str, lines: list[str]) -> None:
    entries = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = {"severity": "INFO", "message": line}
        entries.append(
            {
                "severity": record.get("severity", "DEFAULT"),
                "jsonPayload": record,
                "resource": {"type": "cloud_run_job", "labels": {"job_name": FEATURE, "location": "asia-southeast1"}},
            }
        )
    request = urllib.request.Request(
        f"{logging_url}/demo/entries",
        data=json.dumps({"entries": entries}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--bigquery", required=True)
    parser.add_argument("--logging", required=True)
    parser.add_argument("--project", default="acme-analytics")
    args = parser.parse_args(argv)
    ws = args.workspace
    deploy_dir = ws / "deploy" / FEATURE

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=args.project, credentials=AnonymousCredentials(), client_options={"api_endpoint": args.bigquery}
    )
    client.query((deploy_dir / "tables.sql").read_text(encoding="utf-8")).result()
    print(f"  applied deploy/{FEATURE}/tables.sql to the emulator")
    others = sorted(p.name for p in deploy_dir.iterdir() if p.name not in ("tables.sql", "rollback.sh"))
    print(f"  no local equivalent (a real deploy applies them with gcloud): {', '.join(others)}")

    scheduled = datetime.now(ZoneInfo("Asia/Singapore")).strftime("%Y-%m-%dT06:00:00+08:00")
    argv_job = [sys.executable, "-m", "ingest.daily_events", "--scheduled-time", scheduled]
    env = {
        **os.environ,
        "PYTHONPATH": str(ws / "src"),
        "INGEST_BQ_ENDPOINT": args.bigquery,
        "INGEST_PROJECT": args.project,
    }
    print(f"  the 06:00 run: python -m ingest.daily_events --scheduled-time {scheduled}")
    done = subprocess.run(argv_job, cwd=ws, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    for line in lines:
        print(f"    job log: {line}")
    if done.stderr.strip():
        print(done.stderr.rstrip(), file=sys.stderr)
    forward(args.logging, lines)
    print(f"  job exit code {done.returncode}; {len(lines)} log line(s) forwarded to the Logging stand-in")
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
