"""A check that is not one read is refused when validation.md is read (issue 25), never at smoke time.

Written by the planner (a real executable) or by a person's hand edit, a
query with DML in a CTE, a second statement after a comment ended by
``\\r``, or anything BigQuery's grammar does not read fails the plan step,
naming the check; a deploy of the feature then sends nothing to a BigQuery
endpoint that records every request.
"""

from __future__ import annotations

import pytest

from tests.conftest import WS
from tests.gcp_servers import JsonServer

HOSTILE = {
    "cte-delete": "WITH d AS (DELETE FROM `p.d.t` WHERE true RETURNING *) SELECT 1 AS n",
    "cte-insert": "WITH d AS (INSERT INTO `p.d.t` (n) VALUES (1)) SELECT 1 AS n",
    "comment-cr": "SELECT 1 AS n --x\r; DELETE FROM `p.d.t` WHERE true",
    "plain-delete": "DELETE FROM `p.d.t` WHERE true",
    "not-sql": "SELEC n FRM t",
}


def validation(query: str) -> str:
    quoted = query.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r")
    return (
        "# Checks\n\n```yaml devloop\nsmoke:\n  - name: wipe\n"
        f'    bigquery: {{query: "{quoted}"}}\n    expect: n >= 0\n```\n'
    )


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_planner_writing_a_query_that_is_not_one_read_is_asked_again(ws: WS, case: str) -> None:
    ws.add_feature("a")
    script = dict(ws.script)
    hostile = {"plans/a/plan.md": "# Plan\n", "plans/a/validation.md": validation(HOSTILE[case])}
    script["a/plan/plan"] = {"write": hostile}
    ws.set_script(script)
    r = ws.doit("plan:a")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "smoke.0.bigquery.query (wipe): not run:" in r.stdout, r.stdout
    script["a/plan/plan"] = {"write": {"plans/a/plan.md": "# Plan\n", "plans/a/validation.md": "# Checks\n"}}
    ws.set_script(script)
    assert ws.doit("plan:a").returncode == 0
    assert "not run:" in (ws.log.parent / "prompt-a-plan-plan.txt").read_text(), "asked again with the reason"


def test_a_hand_edit_with_a_write_is_not_adopted_and_nothing_reaches_bigquery(ws: WS) -> None:
    server = JsonServer().start()
    try:
        ws.config(extra=f"gcp: {{project: p, credentials: anonymous, bigquery_endpoint: '{server.url}'}}\n")
        ws.add_feature("a")
        assert ws.doit().returncode == 0
        (ws.root / "plans/a/validation.md").write_text(validation(HOSTILE["cte-delete"]))
        r = ws.doit()
        assert r.returncode == 1, r.stdout + r.stderr
        assert "Step: plan:a FAILED" in r.stdout and "Next: fix plans/a/validation.md (" in r.stdout
        assert "not run: its WITH clause d holds a DELETE statement, not a query" in r.stdout
        ws.devloop("deployed", "a", "--force")
        ws.doit("smoke:a")
        assert server.requests == [], "a query that is not one read reached the BigQuery endpoint"
    finally:
        server.stop()
