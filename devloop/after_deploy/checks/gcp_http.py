"""The HTTP session under the Google clients of BigQuery and Logging checks, held to the check's deadline.

The clients pass a per-request timeout to requests, which urllib3 applies to
each socket operation: a server that answers a byte at a time, or sends one
page of entries after another, keeps a check waiting far past its
``timeout``. Each check therefore gets its own session whose every request
gets what is left of the check's time as its timeout and whose every socket
is shut down at the deadline (:class:`devloop.runtime.deadline.Deadline`), so query,
result polling and every Logging page end together, as an ERROR.

Imported only when a GCP check runs (it pulls in requests and google.auth).
"""

from __future__ import annotations

import socket
from functools import lru_cache
from typing import Any

import requests
from google.auth.transport.requests import AuthorizedSession
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from devloop.runtime.deadline import Deadline
from devloop.runtime.durations import format_duration

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


@lru_cache(maxsize=4)
def credentials_for(kind: str) -> tuple[Any, str | None]:
    """(credentials, their default project): resolved once per process, since ADC reads files and metadata."""
    if kind == "anonymous":
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials(), None
    import google.auth

    creds, project = google.auth.default(scopes=list(SCOPES))
    return creds, project


def held_session(credentials: Any, deadline: Deadline) -> requests.Session:
    """An authorized session whose requests and sockets all end by ``deadline``."""
    session = _HeldSession(credentials, deadline)
    adapter = _HeldAdapter(deadline)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _HeldSession(AuthorizedSession):
    def __init__(self, credentials: Any, deadline: Deadline) -> None:
        super().__init__(credentials)
        self._deadline = deadline

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """TimeoutError (which the clients do not retry) once the deadline has passed."""
        try:
            kwargs["timeout"] = self._deadline.left()
        except TimeoutError:
            raise self._timeout() from None
        try:
            response = super().send(request, **kwargs)
        except requests.Timeout:  # its timeout was what was left: the deadline was reached
            raise self._timeout() from None
        except requests.RequestException:
            if self._deadline.expired:
                raise self._timeout() from None
            raise
        if self._deadline.expired:  # a read the watchdog cut short can look complete
            raise self._timeout()
        return response

    def _timeout(self) -> TimeoutError:
        return TimeoutError(f"no complete answer within {format_duration(self._deadline.seconds)}")


class _HeldAdapter(HTTPAdapter):
    """Pools whose connections hand every new socket to the deadline's watchdog."""

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._pools = {
            "http": _watched(HTTPConnectionPool, HTTPConnection, deadline),
            "https": _watched(HTTPSConnectionPool, HTTPSConnection, deadline),
        }
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = self._pools
        return manager


def _watched(pool: type[HTTPConnectionPool], connection: type[HTTPConnection], deadline: Deadline) -> type:
    def _new_conn(self: HTTPConnection) -> socket.socket:
        sock = connection._new_conn(self)
        deadline.watch(sock)
        return sock

    held = type(f"Held{connection.__name__}", (connection,), {"_new_conn": _new_conn})
    return type(f"Held{pool.__name__}", (pool,), {"ConnectionCls": held})
