"""The BigQuery client every job uses, and typed query parameters.

Values never reach SQL as text: ``query(client, sql, day=date(...))`` sends
``@day`` as a DATE parameter. Production uses Application Default Credentials;
``INGEST_BQ_ENDPOINT`` points the client at a local emulator instead.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

DEFAULT_PROJECT = "acme-analytics"


def default_project() -> str:
    return os.environ.get("INGEST_PROJECT", DEFAULT_PROJECT)


def client(project: str | None = None) -> Any:
    from google.cloud import bigquery

    endpoint = os.environ.get("INGEST_BQ_ENDPOINT")
    if not endpoint:
        return bigquery.Client(project=project or default_project())
    from google.auth.credentials import AnonymousCredentials

    return bigquery.Client(
        project=project or default_project(),
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


def param_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    return "STRING"


def query(client: Any, sql: str, **params: Any) -> Any:
    """Run ``sql`` with ``@name`` parameters and wait for it; returns the finished job."""
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(name, param_type(value), value)
            for name, value in params.items()
        ]
    )
    job = client.query(sql, job_config=config)
    job.result()
    return job


def row(client: Any, sql: str, **params: Any) -> dict[str, Any]:
    """The first row of a query as a dict (empty when there is none)."""
    rows = list(query(client, sql, **params).result())
    return dict(rows[0]) if rows else {}
