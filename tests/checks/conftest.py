"""Fixtures for the check engine: a fixed clock, contexts aimed at local servers, and a small web server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devloop.after_deploy.checks import CheckContext
from devloop.config.models import GcpConfig
from tests.checks.helpers import DEPLOY_TIME, NOW, Web
from tests.gcp_servers import PROJECT, bq_emulator_fixture, logging_server_fixture  # noqa: F401


@pytest.fixture
def make_ctx(tmp_path: Path) -> Callable[..., CheckContext]:
    """A CheckContext for feature ``search`` at NOW; keyword arguments override GcpConfig or context fields."""

    def make(bigquery: str | None = None, logging: str | None = None, **extra: Any) -> CheckContext:
        gcp_fields = {k: extra.pop(k) for k in list(extra) if k in GcpConfig.model_fields}
        gcp = GcpConfig(
            project=PROJECT,
            credentials="anonymous",
            bigquery_endpoint=bigquery,
            logging_endpoint=logging,
            **{"query_timeout": 20, **gcp_fields},
        )
        fields: dict[str, Any] = {"version": "v42", "deploy_time": DEPLOY_TIME, "now": NOW, **extra}
        return CheckContext(workspace=tmp_path, gcp=gcp, feature="search", **fields)

    return make


@pytest.fixture
def web() -> Iterator[str]:
    """The base url of a local web server; requests it saw are in ``Web.seen``."""
    Web.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Web)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
