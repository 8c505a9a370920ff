"""HTTP checks with the standard library: status, latency, body and headers.

A 4xx/5xx answer is an observation (``status == 503`` is a fine thing to
expect); only failing to get an answer at all (refused, DNS, timeout) is an
ERROR. The body is read up to 1 MB.

The check's ``timeout`` is total: name resolution, connect, TLS, headers and
body together end by it (:class:`Deadline`). urllib's own timeout applies to
each socket operation, so a server sending a byte a second would otherwise
hold a check for as long as it likes.

Checks read: GET and HEAD always, any other method only when devloop.yaml
lists it under ``checks.http_methods`` (validation.md is written by an agent;
devloop.yaml is not). A method that is not allowed is an ERROR before any
request is sent.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from devloop.checks.base import MAX_TEXT_BYTES, CheckContext, CheckError, capped_text
from devloop.checks.durations import format_duration

CHUNK = 64 * 1024
READ_METHODS = frozenset({"GET", "HEAD"})


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


def observe(spec: Any, ctx: CheckContext) -> dict[str, Any]:
    url = ctx.render(spec.url)
    _method_allowed(spec.method, url, ctx)
    headers = {"User-Agent": "devloop-check", **{k: ctx.render(v) for k, v in spec.headers.items()}}
    data = spec.body.encode("utf-8") if spec.body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=spec.method)
    where = f"({spec.method} {url})"
    start = time.monotonic()
    with Deadline(spec.timeout) as deadline:
        opener = urllib.request.build_opener(*deadline.handlers())
        try:
            response = opener.open(request, timeout=spec.timeout)
        except urllib.error.HTTPError as exc:  # an answer, just not a 2xx one
            response = exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise CheckError(f"http: {_why(exc, deadline)} {where}") from None
        with response:
            try:
                body = _read(response, deadline)
            except (OSError, http.client.HTTPException) as exc:
                raise CheckError(f"http: {_why(exc, deadline, 'reading the body')} {where}") from None
            latency_ms = round((time.monotonic() - start) * 1000, 1)
            return {
                "status": int(response.status),
                "latency_ms": latency_ms,
                "body": capped_text(body),
                "headers": {k.lower(): v for k, v in response.headers.items()},
            }


def _method_allowed(method: str, url: str, ctx: CheckContext) -> None:
    """Checks read: a writing method needs devloop.yaml's ``checks.http_methods``, not just validation.md."""
    if method in READ_METHODS:
        return
    allowed = getattr(ctx, "http_methods", None) or ()
    if method not in allowed:
        raise CheckError(
            f"http: method {method} is not allowed: checks only read (GET, HEAD) unless devloop.yaml "
            f"lists {method} under checks.http_methods; nothing was sent ({method} {url})"
        )


def _read(response: Any, deadline: Deadline) -> bytes:
    """At most MAX_TEXT_BYTES + 1 bytes (so capping is visible); a body cut by the deadline is a timeout."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_TEXT_BYTES:
        chunk = response.read(min(CHUNK, MAX_TEXT_BYTES + 1 - size))
        if deadline.expired:
            raise TimeoutError
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _why(exc: BaseException, deadline: Deadline, doing: str = "") -> str:
    reason = getattr(exc, "reason", exc)
    if deadline.expired or isinstance(reason, TimeoutError | socket.timeout):
        limit = format_duration(deadline.seconds)
        return f"timeout: no complete body within {limit}" if doing else f"timeout: no answer within {limit}"
    if isinstance(reason, ConnectionRefusedError):
        return "network: connection refused"
    if isinstance(reason, socket.gaierror):
        return f"network: cannot resolve the host ({reason})"
    text = f"network: {reason}" if str(reason) else f"network: {type(reason).__name__}"
    return f"{text} {doing}" if doing else text
