"""`doit smoke` with the real BigQuery and Logging clients against local servers, configured like production."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import WS, happy_script
from tests.gcp_servers import PROJECT, Emulator, LoggingServer, bq_emulator_fixture, logging_server_fixture  # noqa: F401

VALIDATION = """# Checks

```yaml devloop
smoke:
  - name: partition_present
    bigquery:
      query: SELECT COUNT(*) AS n FROM `devloop-test.ws.events` WHERE dt = @day
      params: {day: "{{ today }}"}
      max_bytes_billed: 100000000
    expect: n > 0
rollback_triggers:
  - name: error_rate
    logging: {filter: 'severity>=ERROR AND resource.type="cloud_run_revision"'}
    window: 10m
    fire_when: count > 5
```
"""


@pytest.mark.long
def test_doit_smoke_queries_bigquery_and_logging_through_the_official_clients(
    ws: WS, bq_emulator: Emulator, logging_server: LoggingServer
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": bq_emulator.url}
    )
    client.create_dataset("ws", exists_ok=True)
    table = bigquery.Table(f"{PROJECT}.ws.events", schema=[bigquery.SchemaField("dt", "DATE")])
    client.create_table(table, exists_ok=True)
    gcp = (
        f"gcp: {{project: {PROJECT}, credentials: anonymous, bigquery_endpoint: '{bq_emulator.url}',"
        f" logging_endpoint: '{logging_server.url}'}}\n"
    )
    ws.config(triage="judge", extra=gcp)
    ws.add_feature("a")
    ws.set_script(
        {
            **happy_script("a"),
            "a/plan/plan": {"write": {"plans/a/plan.md": "# Plan\n", "plans/a/validation.md": VALIDATION}},
            "a/plan_review/round1-review": {"answer": "VERDICT: APPROVE\n"},
            "a/smoke/triage": {"answer": "The partition is empty: the source filters on UTC dates.\nROUTE: plan\n"},
        }
    )
    assert ws.doit().returncode == 0
    ws.devloop("deployed", "a", "--version", "v1")
    r = ws.doit("smoke")
    assert r.returncode == 1, r.stdout
    assert "triage routed to plan" in r.stdout
    log = next((ws.root / "runs" / "a").glob("2*/smoke.log")).read_text()
    assert "FAIL partition_present (bigquery) n > 0 | actual: n=0" in log
    assert "not fired error_rate (logging) count > 5 | actual: count=0" in log
    body = logging_server.requests[-1].body
    assert body["resourceNames"] == [f"projects/{PROJECT}"] and 'timestamp>="' in body["filter"]

    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert client.insert_rows_json(f"{PROJECT}.ws.events", [{"dt": today}]) == []
    assert ws.doit().returncode == 0  # the plan re-runs with the triage note, and what follows it
    ws.devloop("deployed", "a", "--version", "v2")
    r = ws.doit("smoke")
    assert r.returncode == 0, r.stdout
    assert (
        "PASS partition_present (bigquery) n > 0 | actual: n=1"
        in sorted((ws.root / "runs" / "a").glob("2*/smoke.log"))[-1].read_text()
    )
    # -- an endpoint that accepts and never answers: monitoring goes on, and is never an all-clear --
    from tests.slow_server import drip_server

    with drip_server(lambda path, body: {}, "never") as mute:
        text = ws.read("devloop.yaml").replace(
            f"logging_endpoint: '{logging_server.url}'", f"logging_endpoint: '{mute.url}'"
        )
        (ws.root / "devloop.yaml").write_text(
            text.replace("credentials: anonymous,", "credentials: anonymous, query_timeout: 1,")
        )
        r = ws.devloop("monitor", "a", "--duration", "2s", "--interval", "1s")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout.count("ERROR error_rate (logging)") == 2 and "timeout: no complete answer within 1s" in r.stdout
    assert "2 trigger evaluation(s) ended in ERROR (see the log), so the deploy was not fully watched" in r.stdout
    assert not (ws.root / "rolled-back.flag").exists()
