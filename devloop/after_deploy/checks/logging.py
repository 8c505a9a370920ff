"""Cloud Logging checks: count the entries matching a filter inside a time window.

There is no count call in the Logging API, so devloop reads entries and
stops one past ``max_entries``: "more than K?" costs at most K+1 entries,
usually one request. The window always goes into the filter itself;
otherwise the client quietly adds "the last 24 hours" of its own. Every
page shares one deadline, the check's ``timeout`` (default
``gcp.query_timeout``): a server that answers slowly, or page after page,
ends the check as a timeout ERROR. Logging checks only list entries.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from devloop.after_deploy.checks.base import CheckContext, CheckError, google_error, rfc3339
from devloop.runtime.deadline import Deadline


def windowed_filter(user_filter: str, start: datetime, end: datetime) -> str:
    """The check's filter restricted to [start, end)."""
    return f'({user_filter}) AND timestamp>="{rfc3339(start)}" AND timestamp<"{rfc3339(end)}"'


def observe(spec: Any, ctx: CheckContext) -> dict[str, Any]:
    """``count``: entries in the window, at most ``max_entries + 1``; ``capped`` when the count stopped there."""
    bounds = ctx.window_bounds()
    if bounds is None:
        raise CheckError("logging: no window (window: 10m) and no deploy_time to count from")
    query = windowed_filter(spec.filter, *bounds)
    limit = spec.max_entries + 1
    errors = _client_errors()

    timeout = float(spec.timeout or ctx.gcp.query_timeout)
    try:
        with Deadline(timeout) as deadline:
            client = _client(ctx.gcp, deadline)
            entries = client.list_entries(
                resource_names=[f"projects/{client.project}"], filter_=query, page_size=min(spec.page_size, limit)
            )
            count = sum(1 for _ in itertools.islice(entries, limit))
    except errors as exc:
        raise google_error(exc, "logging") from None
    return {"count": count, "capped": count > spec.max_entries}


def _client(gcp: Any, deadline: Any) -> Any:
    """An HTTP (not gRPC) client for this check alone, on a session held to its deadline.

    HTTP is simpler to run against local servers and is the same API.
    """
    from google.cloud import logging as cloud_logging

    # lazy: loads google, requests, urllib3
    from devloop.after_deploy.checks.gcp_http import credentials_for, held_session

    if gcp.credentials == "anonymous" and not gcp.project:
        raise CheckError("logging: gcp.project is required with anonymous credentials")
    credentials, default_project = credentials_for(gcp.credentials)
    kwargs: dict[str, Any] = {
        "project": gcp.project or default_project,
        "credentials": credentials,
        "_http": held_session(credentials, deadline),
        "_use_grpc": False,
    }
    if gcp.logging_endpoint:
        kwargs["client_options"] = {"api_endpoint": gcp.logging_endpoint.rstrip("/")}
    return cloud_logging.Client(**kwargs)


def _client_errors() -> tuple[type[BaseException], ...]:
    import requests
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    return GoogleAPIError, GoogleAuthError, requests.RequestException, TimeoutError
