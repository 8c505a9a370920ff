"""BigQuery checks through the real google-cloud-bigquery client, against bqemulator (started once per session).

The emulator ignores maximum_bytes_billed and estimates 0 bytes on dry runs,
so the bytes guard is also exercised against a scripted BigQuery REST server
that answers the dry run with a large estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devloop.after_deploy.checks import CheckContext, run_checks
from devloop.after_deploy.checks.base import CheckError
from devloop.after_deploy.checks.bigquery import typed_params
from devloop.runtime.errors import ConfigError
from tests.checks.helpers import NOW, block
from tests.gcp_servers import PROJECT, Emulator, JsonServer
from tests.slow_server import drip_server

TABLE = f"{PROJECT}.checks.events"


@pytest.fixture(scope="session")
def seeded(bq_emulator: Emulator) -> Emulator:
    """A partitioned table with rows for yesterday (2) and today (1), via the real client."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": bq_emulator.url}
    )
    client.create_dataset("checks", exists_ok=True)
    table = bigquery.Table(
        TABLE,
        schema=[
            bigquery.SchemaField("dt", "DATE"),
            bigquery.SchemaField("name", "STRING"),
            bigquery.SchemaField("n", "INT64"),
            bigquery.SchemaField("seen_at", "TIMESTAMP"),
        ],
    )
    table.time_partitioning = bigquery.TimePartitioning(field="dt")
    client.create_table(table, exists_ok=True)
    rows = [
        {"dt": "2024-05-01", "name": "a", "n": 1, "seen_at": "2024-05-01T10:00:00Z"},
        {"dt": "2024-05-01", "name": "b", "n": 2, "seen_at": "2024-05-01T11:00:00Z"},
        {"dt": "2024-05-02", "name": "c", "n": 3, "seen_at": "2024-05-02T11:45:00Z"},
    ]
    assert client.insert_rows_json(TABLE, rows) == []
    return bq_emulator


@pytest.fixture
def ctx(seeded: Emulator, make_ctx: Callable[..., CheckContext]) -> CheckContext:
    return make_ctx(bigquery=seeded.url)


def one(yaml_item: str, ctx: CheckContext) -> Any:
    [result] = run_checks(block("smoke:\n" + yaml_item).smoke, ctx)
    return result


def test_a_partition_check_passes_with_a_date_parameter_from_a_template(ctx: CheckContext) -> None:
    r = one(
        "  - name: partition_present\n    bigquery:\n"
        f"      query: SELECT COUNT(*) AS n FROM `{TABLE}` WHERE dt = @day\n"
        "      params: {day: '{{ yesterday }}'}\n    expect: n > 0\n",
        ctx,
    )
    assert (r.outcome, r.actual["n"], r.actual["rows"]) == ("PASS", 2, 1), r.line()
    assert r.line().startswith("PASS partition_present (bigquery) n > 0 | actual: n=2, rows=1 | ")


def test_an_empty_partition_fails(ctx: CheckContext) -> None:
    r = one(
        f"  - name: old\n    bigquery: {{query: 'SELECT COUNT(*) AS n FROM `{TABLE}` WHERE dt = @day',"
        " params: {day: '2020-01-01'}}\n    expect: n > 0\n",
        ctx,
    )
    assert (r.outcome, r.actual["n"]) == ("FAIL", 0), r.line()


def test_string_int_and_array_parameters_are_typed(ctx: CheckContext) -> None:
    r = one(
        "  - name: typed\n    bigquery:\n      query: >-\n"
        f"        SELECT COUNT(*) AS c, SUM(n) AS total FROM `{TABLE}`\n"
        "        WHERE name IN UNNEST(@names) AND n >= @min AND name != @skip\n"
        "      params: {names: [a, b, c], min: 2, skip: \"c' OR '1'='1\"}\n    expect: c == 2 and total == 5\n",
        ctx,
    )
    assert r.outcome == "PASS", r.line()
    assert typed_params({"names": ["a"], "min": 2, "day": "{{ today }}"}, ctx) == [
        ("names", "STRING", ["a"], True),
        ("min", "INT64", 2, False),
        ("day", "DATE", NOW.date(), False),
    ]


def test_a_timestamp_parameter_from_the_deploy_time(ctx: CheckContext) -> None:
    r = one(
        f"  - name: since_deploy\n    bigquery:\n      query: SELECT COUNT(*) AS n, MAX(dt) AS last FROM `{TABLE}`"
        " WHERE seen_at >= @since\n      params: {since: '{{ deploy_time }}'}\n    expect: n == 1 and last == today\n",
        ctx,
    )
    assert r.outcome == "ERROR" and "'today' is undefined" in r.detail  # expressions see results, not templates
    r = one(
        f"  - name: since_deploy\n    bigquery:\n      query: SELECT COUNT(*) AS n, MAX(dt) AS last FROM `{TABLE}`"
        " WHERE seen_at >= @since\n      params: {since: '{{ deploy_time }}'}\n"
        "    expect: n == 1 and last == '2024-05-02'\n",
        ctx,
    )
    assert r.outcome == "PASS", r.line()


def test_bad_sql_is_refused_when_validation_md_is_read() -> None:
    with pytest.raises(ConfigError) as caught:
        block("smoke:\n  - name: typo\n    bigquery: {query: SELECT 1 AS n FROM WHERE}\n    expect: n == 1\n")
    message = str(caught.value)
    assert "smoke.0.bigquery.query (typo): not run: BigQuery's grammar does not read it" in message
    assert "at line 1, column 24" in message and "<Token" not in message


def test_a_missing_table_is_an_error(ctx: CheckContext) -> None:
    r = one(
        f"  - name: gone\n    bigquery: {{query: 'SELECT COUNT(*) AS n FROM `{PROJECT}.checks.nope`'}}\n"
        "    expect: n >= 0\n",
        ctx,
    )
    assert r.outcome == "ERROR" and r.detail.startswith("bigquery: not found:"), r.line()


def test_no_rows_leaves_columns_none_and_says_so(ctx: CheckContext) -> None:
    q = f"SELECT n FROM `{TABLE}` WHERE FALSE"
    r = one(f"  - name: empty\n    bigquery: {{query: '{q}'}}\n    expect: rows == 0\n", ctx)
    assert (r.outcome, r.actual) == ("PASS", {"n": None, "rows": 0, "bytes_processed": 0}), r.line()
    r = one(f"  - name: empty\n    bigquery: {{query: '{q}'}}\n    expect: n > 0\n", ctx)
    assert r.outcome == "ERROR" and r.detail.endswith("(the query returned no rows)"), r.line()


def test_a_column_named_like_devloops_own_names_is_an_error(ctx: CheckContext) -> None:
    r = one("  - name: clash\n    bigquery: {query: SELECT 1 AS rows}\n    expect: rows == 1\n", ctx)
    assert r.outcome == "ERROR" and "column 'rows' clashes" in r.detail


def test_a_dry_run_check_reports_bytes_without_rows(ctx: CheckContext) -> None:
    r = one(
        f"  - name: cost\n    bigquery: {{query: 'SELECT * FROM `{TABLE}`', dry_run: true}}\n"
        "    expect: bytes_processed < 1000000\n",
        ctx,
    )
    assert (r.outcome, r.actual) == ("PASS", {"rows": 0, "bytes_processed": 0}), r.line()


def test_a_templated_list_that_renders_mixed_types_is_an_error(ctx: CheckContext) -> None:
    with pytest.raises(CheckError, match="parameter xs: list values must share one type"):
        typed_params({"xs": ["{{ today }}", "plain"]}, ctx)


# -- the bytes guard, against a scripted BigQuery REST server ----------------------------------------
class BigQueryStub(JsonServer):
    """jobs.insert answered as BigQuery would for a dry run estimating ``estimate`` bytes."""

    def __init__(self, estimate: int, statement: str | None = "SELECT") -> None:
        super().__init__()
        self.estimate = estimate
        self.statement = statement

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST" and path == f"/bigquery/v2/projects/{PROJECT}/jobs":
            query = {"totalBytesProcessed": str(self.estimate)}
            if self.statement:
                query["statementType"] = self.statement
            stats = {"totalBytesProcessed": str(self.estimate), "query": query}
            return 200, {**body, "id": "x", "status": {"state": "DONE"}, "statistics": stats}
        return super().answer(method, path, body)


@pytest.fixture
def stub() -> Iterator[BigQueryStub]:
    server = BigQueryStub(estimate=5_000_000_000)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_an_estimate_over_the_cap_is_an_error_before_the_query_runs(
    stub: BigQueryStub, make_ctx: Callable[..., CheckContext]
) -> None:
    ctx = make_ctx(bigquery=stub.url, max_bytes_billed=2_000_000_000)
    r = one(
        "  - name: expensive\n    bigquery: {query: 'SELECT * FROM big', max_bytes_billed: 3000000000}\n"
        "    expect: rows > 0\n",
        ctx,
    )
    assert r.outcome == "ERROR", r.line()
    assert r.detail == (
        "bigquery: the dry run estimates 5,000,000,000 bytes, over the cap of 2,000,000,000 bytes;"
        " the query was not run"
    )
    [job] = stub.requests  # only the dry run reached the server
    assert job.body["configuration"]["dryRun"] is True
    assert job.body["configuration"]["query"]["maximumBytesBilled"] == "2000000000"


def test_the_checks_own_cap_is_sent_when_lower(stub: BigQueryStub, make_ctx: Callable[..., CheckContext]) -> None:
    ctx = make_ctx(bigquery=stub.url)
    r = one("  - name: capped\n    bigquery: {query: 'SELECT 1', max_bytes_billed: 1000}\n    expect: rows > 0\n", ctx)
    assert r.outcome == "ERROR" and "over the cap of 1,000 bytes" in r.detail
    assert stub.requests[0].body["configuration"]["query"]["maximumBytesBilled"] == "1000"


def test_error_lines_are_one_readable_line(ctx: CheckContext) -> None:
    r = one("  - name: typo\n    bigquery: {query: SELECT n FROM `p.d.no_such_table`}\n    expect: n == 1\n", ctx)
    assert r.outcome == "ERROR", r.line()
    assert "\n" not in r.line() and "http://" not in r.detail and len(r.detail) <= 300


# -- checks read, never write ------------------------------------------------------------------------
def rows_in(emulator: Emulator) -> int:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": emulator.url}
    )
    [row] = list(client.query(f"SELECT COUNT(*) AS n FROM `{TABLE}`").result())
    return int(row["n"])


WRITES = {
    "delete": f"DELETE FROM `{TABLE}` WHERE TRUE",
    "insert": f"INSERT INTO `{TABLE}` (dt, name, n) VALUES ('2024-05-03', 'x', 9)",
    "create": f"CREATE TABLE `{PROJECT}.checks.made` (x INT64)",
    "script": f"SELECT 1 AS n; DELETE FROM `{TABLE}` WHERE TRUE",
    "script_in_a_block": f"BEGIN SELECT 1; DELETE FROM `{TABLE}` WHERE TRUE; END",
    "merge": f"MERGE `{TABLE}` T USING (SELECT 'z' AS name) S ON T.name = S.name WHEN MATCHED THEN DELETE",
    "export": "EXPORT DATA OPTIONS (uri = 'gs://b/x-*.csv', format = 'CSV') AS SELECT 1",
    "procedure": "CALL `p.d.wipe`()",
    "hidden_behind_comments": f"/* SELECT */ -- SELECT\n  delete from `{TABLE}` where true",
    "hidden_after_a_string": f"SELECT ';' AS s; DROP TABLE `{TABLE}`",
    "delete_in_a_cte": f"WITH d AS (DELETE FROM `{TABLE}` WHERE true RETURNING *) SELECT 1 AS z",
    "insert_in_a_cte": f"WITH d AS (INSERT INTO `{TABLE}` (dt, name, n) VALUES ('2024-05-03', 'x', 9)) SELECT 1",
    "update_in_a_cte": f"WITH d AS (UPDATE `{TABLE}` SET n = 0 WHERE true RETURNING *) SELECT 1 AS z",
    "comment_ended_by_cr": f"SELECT 1 --x\r; DELETE FROM `{TABLE}` WHERE true",
    "hash_comment_ended_by_cr": f"SELECT 1 #x\r; DELETE FROM `{TABLE}` WHERE true",
    "comment_ended_by_u2028": f"SELECT 1 --x\u2028; DELETE FROM `{TABLE}` WHERE true",
    "select_into": f"SELECT * INTO `{PROJECT}.checks.copy` FROM `{TABLE}`",
    "declare": "DECLARE x INT64 DEFAULT 1",
    "set": "SET @@dataset_project_id = 'p'",
    "execute_immediate": f"EXECUTE IMMEDIATE 'DELETE FROM `{TABLE}` WHERE true'",
    "truncate": f"TRUNCATE TABLE `{TABLE}`",
    "drop_in_parentheses": f"(DROP TABLE `{TABLE}`)",
    "garbage": "SELEC 1 FRM",
    "two_selects": "SELECT 1; SELECT 2",
}


@pytest.mark.parametrize("query", WRITES.values(), ids=WRITES.keys())
def test_a_check_that_is_not_one_select_is_refused_before_anything_is_sent(
    query: str, seeded: Emulator, make_ctx: Callable[..., CheckContext]
) -> None:
    before = rows_in(seeded)
    text = "smoke:\n  - name: wipe\n    bigquery:\n      query: |-\n" + "".join(
        f"        {line}\n" for line in query.splitlines()
    )
    with pytest.raises(ConfigError) as caught:
        block(text + "    expect: rows >= 0\n")
    message = str(caught.value)
    assert "smoke.0.bigquery.query (wipe): not run:" in message, message
    assert "a check runs one query" in message or "a check only reads" in message or "line break" in message
    assert rows_in(seeded) == before == 3


@pytest.mark.parametrize(
    "query",
    [
        f"WITH x AS (SELECT n FROM `{TABLE}`) SELECT COUNT(*) AS c FROM x",
        f"(SELECT COUNT(*) AS c FROM `{TABLE}`)",
        f"-- how many\n/* all rows */ select count(*) as c from `{TABLE}`;",
        f"SELECT COUNT(*) AS c FROM `{TABLE}` WHERE name != 'DELETE; DROP'",
    ],
    ids=["with", "parenthesised", "comments_and_a_trailing_semicolon", "keywords_inside_a_string"],
)
def test_one_select_in_any_common_shape_is_accepted(query: str) -> None:
    text = "smoke:\n  - name: read\n    bigquery:\n      query: |-\n" + "".join(
        f"        {line}\n" for line in query.splitlines()
    )
    [check] = block(text + "    expect: c >= 0\n").smoke
    assert check.name == "read"


@pytest.mark.parametrize(
    "query", [WRITES["delete"], WRITES["insert"], WRITES["create"]], ids=["delete", "insert", "create"]
)
def test_the_dry_runs_statement_type_decides_even_past_the_static_guard(
    query: str, seeded: Emulator, make_ctx: Callable[..., CheckContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last layer on its own: a statement that slipped past the parser is stopped by its dry run."""
    from devloop.after_deploy.checks import sql
    from devloop.after_deploy.checks.model import Check
    from devloop.after_deploy.checks.specs import BigQuerySpec

    monkeypatch.setattr(sql, "not_one_read", lambda query: None)  # as if the parser had been fooled
    before = rows_in(seeded)
    spec = BigQuerySpec.model_construct(query=query, params={}, max_bytes_billed=None, dry_run=False, timeout=None)
    [check] = block("smoke:\n  - name: wipe\n    bigquery: {query: SELECT 1 AS n}\n    expect: rows >= 0\n").smoke
    check = Check.model_construct(**{**dict(check), "bigquery": spec})
    [r] = run_checks([check], make_ctx(bigquery=seeded.url))
    assert r.outcome == "ERROR", r.line()
    assert r.detail.startswith("bigquery: not run: the dry run reports ") and r.detail.endswith("only a SELECT")
    assert query.split()[0] in r.detail
    assert rows_in(seeded) == before == 3


@pytest.mark.parametrize("said", ["SCRIPT", "DELETE", None], ids=["script", "delete", "not_reported"])
def test_a_server_that_does_not_say_select_gets_no_query(
    said: str | None, make_ctx: Callable[..., CheckContext]
) -> None:
    server = BigQueryStub(estimate=10, statement=said)
    server.start()
    try:
        r = one(
            "  - name: odd\n    bigquery: {query: 'SELECT 1 AS n'}\n    expect: n == 1\n", make_ctx(bigquery=server.url)
        )
        assert r.outcome == "ERROR", r.line()
        assert f"the dry run reports {said or 'no statement type'}" in r.detail
        [job] = server.requests  # the dry run only
        assert job.body["configuration"]["dryRun"] is True
    finally:
        server.stop()


# -- one deadline for query, polling and result ----------------------------------------------------------
def dry_run_select(path: str, body: dict[str, Any]) -> dict[str, Any]:
    stats = {"totalBytesProcessed": "10", "query": {"totalBytesProcessed": "10", "statementType": "SELECT"}}
    return {**body, "id": "x", "status": {"state": "DONE"}, "statistics": stats}


@pytest.mark.parametrize("pace", ["head", "body"])
def test_a_server_trickling_its_answer_ends_the_check_at_its_timeout(
    pace: str, make_ctx: Callable[..., CheckContext]
) -> None:
    with drip_server(dry_run_select, pace) as server:
        item = "  - name: slow\n    bigquery: {query: 'SELECT 1 AS n', timeout: 1s}\n    expect: n == 1\n"
        r = one(item, make_ctx(bigquery=server.url))
        assert (r.outcome, r.detail) == ("ERROR", "bigquery: timeout: no complete answer within 1s"), r.line()
        assert server.finished == []  # dropped while the server was still sending


def test_a_server_that_accepts_and_never_answers_is_an_error_at_the_deadline(
    make_ctx: Callable[..., CheckContext],
) -> None:
    with drip_server(dry_run_select, "never") as server:
        item = "  - name: mute\n    bigquery: {query: 'SELECT 1 AS n', timeout: 1s}\n    expect: n == 1\n"
        r = one(item, make_ctx(bigquery=server.url))
        assert (r.outcome, r.detail) == ("ERROR", "bigquery: timeout: no complete answer within 1s"), r.line()
