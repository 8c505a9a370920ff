"""A total deadline for one network exchange: connect, headers and body together end by it.

Socket timeouts apply to each operation, so a peer sending a byte a second
holds a blocking read for as long as it likes. A :class:`Deadline` instead
shuts every socket of the exchange down at one moment, waking whatever read
is blocked on it. Used by http checks and OpenAI-compatible agents (through
urllib handlers) and by the Google clients of BigQuery and Logging checks
(through :mod:`devloop.after_deploy.checks.gcp_http`).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.request
from typing import Any

from devloop.runtime.durations import format_duration


class Deadline:
    """One moment by which every socket of an HTTP exchange is shut down, whatever the server does.

    Use as a context manager around the whole exchange, with :meth:`handlers`
    in the opener. Each socket is watched through a duplicate of its
    descriptor, so the watchdog can shut it down (waking any blocked read,
    including inside http.client's header parsing and a TLS handshake)
    without ever touching a descriptor number the process may have reused.
    After the deadline a read may end early and look complete: callers must
    check :attr:`expired` before trusting what they read.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for dup in self._watched:
                dup.close()
            self._watched.clear()

    def left(self) -> float:
        """Seconds remaining; TimeoutError once there are none."""
        remaining = self.at - time.monotonic()
        if self.expired or remaining <= 0:
            self.expired = True
            raise TimeoutError(f"timed out after {format_duration(self.seconds)}")
        return remaining

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once if it has passed)."""
        dup = sock.dup()
        with self._lock:
            if not self.expired:
                self._watched.append(dup)
                return
        _shutdown(dup)
        dup.close()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for dup in self._watched:
                _shutdown(dup)

    def connect(
        self, address: tuple[str, int], timeout: object = None, source_address: tuple[str, int] | None = None
    ) -> socket.socket:
        """``socket.create_connection`` within the deadline: resolving, then each address in turn."""
        host, port = address
        error: OSError | None = None
        for family, kind, proto, _, where in self._resolve(host, port):
            sock = socket.socket(family, kind, proto)
            try:
                self.watch(sock)
                sock.settimeout(self.left())
                if source_address:
                    sock.bind(source_address)
                sock.connect(where)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
                if self.expired or time.monotonic() >= self.at:
                    break
        self.left()  # the deadline passed: say so rather than the last socket error
        raise error or OSError(f"cannot resolve {host!r}")

    def _resolve(self, host: str, port: int) -> list[tuple[Any, ...]]:
        """getaddrinfo in a daemon thread, since it cannot be interrupted and may block on DNS."""
        box: list[Any] = []
        done = threading.Event()

        def resolve() -> None:
            try:
                box.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
            except OSError as exc:
                box.append(exc)
            done.set()

        threading.Thread(target=resolve, name="devloop-resolve", daemon=True).start()
        if not done.wait(self.left()):
            self.left()
            raise TimeoutError(f"timed out after {format_duration(self.seconds)}")
        if isinstance(box[0], OSError):
            raise box[0]
        return box[0]

    def handlers(self) -> list[urllib.request.BaseHandler]:
        """urllib handlers whose connections are all held to this deadline."""
        return [_HTTPHandler(self), _HTTPSHandler(self)]


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or already closed: nothing is waiting on it


class _DeadlineConnection:
    """Mixed into http.client's connections: every socket they open is made by ``Deadline.connect``."""

    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = deadline.connect


class _HTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req, deadline=self._deadline)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=self._context, deadline=self._deadline)
