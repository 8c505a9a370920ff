"""The runner: result lines, fail-closed outcomes, triggers, parallel runs, and lazy Google imports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from devloop.after_deploy.checks import CheckContext, CheckResult, evaluate_triggers, run_checks
from tests.checks.helpers import NOW, block

REPO = Path(__file__).resolve().parents[2]


def test_result_lines_have_one_shape() -> None:
    ok = CheckResult("partition_present", "bigquery", "PASS", {"n": 1234, "rows": 1}, "n > 0", duration_s=0.41)
    assert ok.line() == "PASS partition_present (bigquery) n > 0 | actual: n=1234, rows=1 | 0.41s"
    fired = CheckResult("error_rate", "logging", "FAIL", {"count": 73}, "count > 50", duration_s=0.2, trigger=True)
    assert fired.fired and fired.line() == "FIRED error_rate (logging) count > 50 | actual: count=73 | 0.20s"
    bad = CheckResult("x", "http", "ERROR", {}, "status == 200", "http: network: connection refused", 1.0)
    assert bad.line() == "ERROR x (http) status == 200 | error: http: network: connection refused | 1.00s"
    long = CheckResult("y", "command", "FAIL", {"stdout": "a\nb" * 100}, "stdout == ''", shown=["stdout"])
    assert "\n" not in long.line() and len(long.line()) < 200


def test_a_non_boolean_expression_is_an_error_never_a_pass(make_ctx: Callable[..., CheckContext]) -> None:
    checks = block("smoke:\n  - name: truthy\n    command: {argv: [echo, hi]}\n    expect: stdout\n").smoke
    [r] = run_checks(checks, make_ctx())
    assert r.outcome == "ERROR" and r.detail == "the expression gave str 'hi\\n', not true/false"


def test_a_trigger_that_cannot_observe_is_an_error_not_quiet(make_ctx: Callable[..., CheckContext]) -> None:
    triggers = block(
        "rollback_triggers:\n  - name: probe\n    command: {argv: [./missing]}\n    fire_when: exit_code != 0\n"
    ).rollback_triggers
    [r] = evaluate_triggers(triggers, make_ctx(), NOW)
    assert (r.outcome, r.fired) == ("ERROR", False)
    assert r.line().startswith("ERROR probe (command) exit_code != 0 | error: command: cannot start")


def test_a_command_trigger_fires_on_its_condition(make_ctx: Callable[..., CheckContext]) -> None:
    text = (
        "rollback_triggers:\n  - name: canary\n    command: {argv: [sh, -c, 'exit 3']}\n    fire_when: exit_code != 0\n"
    )
    [r] = evaluate_triggers(block(text).rollback_triggers, make_ctx(), NOW)
    assert r.line().startswith("FIRED canary (command) exit_code != 0 | actual: exit_code=3 | ")


def test_an_unexpected_failure_inside_a_kind_is_an_error_and_the_run_goes_on(
    make_ctx: Callable[..., CheckContext],
) -> None:
    text = (
        'smoke:\n  - name: nul\n    command: {argv: ["ec\\0ho"]}\n    expect: exit_code == 0\n'
        "  - name: after\n    command: {argv: [echo, ok]}\n    expect: exit_code == 0\n"
    )
    first, second = run_checks(block(text).smoke, make_ctx())
    assert first.outcome == "ERROR" and first.detail.startswith("internal error ValueError: embedded null byte")
    assert second.outcome == "PASS"


def test_jobs_run_checks_side_by_side_and_keep_their_order(make_ctx: Callable[..., CheckContext]) -> None:
    """Each check prints when it started and ended: with 4 jobs every interval overlaps every other."""
    items = "".join(
        f"  - name: c{i}\n    command: {{argv: [sh, -c, 'date +%s%N; sleep 0.4; date +%s%N']}}\n"
        "    expect: exit_code == 0\n"
        for i in range(4)
    )
    results = run_checks(block("smoke:\n" + items).smoke, make_ctx(), jobs=4)
    assert [r.name for r in results] == ["c0", "c1", "c2", "c3"] and {r.outcome for r in results} == {"PASS"}
    spans = [tuple(int(x) for x in r.actual["stdout"].split()) for r in results]
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # all four ran at once


def test_results_serialise_for_logs() -> None:
    r = CheckResult("a", "http", "PASS", {"status": 200}, "status == 200", duration_s=0.1, shown=["status"])
    assert json.loads(json.dumps(r.as_dict()))["outcome"] == "PASS"


NO_GOOGLE = r"""
import http.server, json, sys, threading
from pathlib import Path

def google():
    return sorted(m for m in sys.modules if m == "google" or m.startswith("google."))

import devloop, devloop.after_deploy.checks
from devloop.after_deploy.checks import CheckContext, parse_check_block, run_checks
from devloop.config.models import GcpConfig
after_import = google()

class OK(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass

httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OK)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{httpd.server_address[1]}/"
text = f'''```yaml devloop
smoke:
  - name: web
    http: {{url: "{url}"}}
    expect: status == 200 and body == "ok"
  - name: cmd
    command: {{argv: [echo, hi]}}
    expect: exit_code == 0
rollback_triggers:
  - name: t
    command: {{argv: ["true"]}}
    fire_when: exit_code != 0
```
'''
checks = parse_check_block(text)
ctx = CheckContext(workspace=Path.cwd(), gcp=GcpConfig(), feature="f")
outcomes = [r.outcome for r in run_checks(checks.smoke, ctx)]
after_run = google()

# positive control: a BigQuery check does import the client (and fails fast on a closed port)
bq = parse_check_block('```yaml devloop\nsmoke:\n  - name: q\n    bigquery: {query: SELECT 1 AS n, timeout: 1s}\n'
                       '    expect: n == 1\n```\n')
gcp = GcpConfig(project="p", credentials="anonymous", bigquery_endpoint=sys.argv[1])
[bq_result] = run_checks(bq.smoke, CheckContext(workspace=Path.cwd(), gcp=gcp, feature="f"))
print(json.dumps({"after_import": after_import, "after_run": after_run, "outcomes": outcomes,
                  "bq": bq_result.outcome, "bq_imported": "google.cloud.bigquery" in sys.modules}))
"""


def test_http_and_command_checks_import_nothing_from_google(tmp_path: Path) -> None:
    from tests.gcp_servers import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-c", NO_GOOGLE, closed], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["after_import"] == [] and seen["after_run"] == []
    assert seen["outcomes"] == ["PASS", "PASS"]
    assert (seen["bq"], seen["bq_imported"]) == ("ERROR", True)
