"""BigQuery checks through the official client, imported only when such a check runs.

Checks read, never write: a query must be proven one read by a BigQuery
SQL parser (:mod:`devloop.after_deploy.checks.sql`) when validation.md is read and again
right before it is sent, and it runs only when its dry run reports the
statement type SELECT; anything else, or a server that does not say, is an
error before any byte is processed.

Query, polling and result end together within the check's timeout
(:mod:`devloop.after_deploy.checks.gcp_http`), whatever the server's pace.

Every query carries a maximum_bytes_billed (the check's cap, never above the
workspace's) and is preceded by a free dry run whose estimate is checked
against the same cap, so an expensive query is refused before it is billed
even where the server would not enforce the cap (emulators).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as clock
from typing import Any

from devloop.after_deploy.checks import sql
from devloop.after_deploy.checks.base import CheckContext, CheckError, google_error
from devloop.after_deploy.checks.params import bytes_cap, infer_array, infer_type, over_cap
from devloop.runtime.deadline import Deadline

RESERVED = ("rows", "bytes_processed")


def typed_params(params: dict[str, Any], ctx: CheckContext) -> list[tuple[str, str, Any, bool]]:
    """(name, BigQuery type, value, is_array) for each parameter, after rendering its templates."""
    out = []
    for name, value in params.items():
        if isinstance(value, list):
            rendered = [ctx.render(v) if isinstance(v, str) else v for v in value]
            try:
                kind, values = infer_array(rendered)
            except ValueError as exc:
                raise CheckError(f"parameter {name}: {exc}") from None
            out.append((name, kind, values, True))
        else:
            kind, converted = infer_type(ctx.render(value) if isinstance(value, str) else value)
            out.append((name, kind, converted, False))
    return out


def observe(spec: Any, ctx: CheckContext) -> dict[str, Any]:
    """The first row's columns, ``rows`` (the row count) and ``bytes_processed``."""
    params = typed_params(spec.params, ctx)
    cap = bytes_cap(spec.max_bytes_billed, ctx.gcp.max_bytes_billed)
    timeout = float(spec.timeout or ctx.gcp.query_timeout)
    errors = _client_errors()
    try:
        return _query(spec, ctx, params, cap, timeout)
    except errors as exc:
        raise google_error(exc, "bigquery") from None


def _query(spec: Any, ctx: CheckContext, params: list[Any], cap: int, timeout: float) -> dict[str, Any]:
    with Deadline(timeout) as held:
        client = _client(ctx.gcp, held)
        return _dry_then_run(client, spec, params, cap, held.at)


def _dry_then_run(client: Any, spec: Any, params: list[Any], cap: int, deadline: float) -> dict[str, Any]:
    if problem := sql.not_one_read(spec.query):  # the block was checked when read; this is the query sent
        raise CheckError(f"bigquery: not run: {problem}")
    dry = client.query(spec.query, job_config=_job_config(params, cap, dry_run=True), **_limits(deadline))
    if dry.statement_type != "SELECT":
        said = dry.statement_type or "no statement type"
        raise CheckError(f"bigquery: not run: the dry run reports {said}; a check runs only a SELECT")
    estimate = dry.total_bytes_processed
    if problem := over_cap(estimate, cap):
        raise CheckError(f"bigquery: {problem}")
    if spec.dry_run:
        return {"rows": 0, "bytes_processed": estimate}
    job = client.query(spec.query, job_config=_job_config(params, cap, dry_run=False), **_limits(deadline))
    result = job.result(max_results=1, **_limits(deadline))
    first = next(iter(result), None)
    columns = [f.name for f in (result.schema or [])]
    clash = [c for c in columns if c in RESERVED]
    if clash:
        raise CheckError(f"bigquery: column {clash[0]!r} clashes with devloop's own name; alias it (AS ...)")
    values = {c: (_plain(first[c]) if first is not None else None) for c in columns}
    total = result.total_rows if result.total_rows is not None else (0 if first is None else 1)
    values.update(rows=int(total), bytes_processed=job.total_bytes_processed)
    return values


def _job_config(params: list[tuple[str, str, Any, bool]], cap: int, dry_run: bool) -> Any:
    from google.cloud import bigquery

    query_parameters = [
        bigquery.ArrayQueryParameter(n, t, v) if is_array else bigquery.ScalarQueryParameter(n, t, v)
        for n, t, v, is_array in params
    ]
    return bigquery.QueryJobConfig(
        query_parameters=query_parameters,
        maximum_bytes_billed=cap,
        dry_run=dry_run,
        use_query_cache=not dry_run,
    )


def _limits(deadline: float) -> dict[str, Any]:
    """Timeout and a retry bounded by what is left of the check's time, so nothing retries for minutes.

    ``job_retry`` (re-running a failed job, with a 10-minute deadline of its
    own) is off: a smoke check that fails is reported, not re-tried unseen.
    """
    from google.cloud import bigquery

    left = deadline - time.monotonic()
    if left <= 0:
        raise CheckError("bigquery: timeout: the check ran out of time")
    retry = bigquery.DEFAULT_RETRY
    retry = retry.with_timeout(left) if hasattr(retry, "with_timeout") else retry.with_deadline(left)
    return {"timeout": left, "retry": retry, "job_retry": None}


def _client(gcp: Any, deadline: Any) -> Any:
    """A client for this check alone, on a session held to its deadline (credentials are resolved once)."""
    from google.cloud import bigquery

    # lazy: loads google, requests, urllib3
    from devloop.after_deploy.checks.gcp_http import credentials_for, held_session

    if gcp.credentials == "anonymous" and not gcp.project:
        raise CheckError("bigquery: gcp.project is required with anonymous credentials")
    credentials, default_project = credentials_for(gcp.credentials)
    kwargs: dict[str, Any] = {
        "project": gcp.project or default_project,
        "location": gcp.location,
        "credentials": credentials,
        "_http": held_session(credentials, deadline),
    }
    if gcp.bigquery_endpoint:
        kwargs["client_options"] = {"api_endpoint": gcp.bigquery_endpoint.rstrip("/")}
    return bigquery.Client(**kwargs)


def _client_errors() -> tuple[type[BaseException], ...]:
    """What the client raises for auth, quota, network, bad SQL and timeouts (imported lazily too)."""
    import concurrent.futures

    import requests
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    return GoogleAPIError, GoogleAuthError, requests.RequestException, concurrent.futures.TimeoutError, TimeoutError


def _plain(value: Any) -> Any:
    """Dates and times as ISO text, so expressions compare them with ``today`` and friends."""
    if isinstance(value, datetime | date | clock):
        return value.isoformat()
    return value
