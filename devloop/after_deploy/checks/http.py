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
import time
import urllib.error
import urllib.request
from typing import Any

from devloop.after_deploy.checks.base import MAX_TEXT_BYTES, CheckContext, CheckError, capped_text
from devloop.runtime.deadline import Deadline
from devloop.runtime.durations import format_duration

CHUNK = 64 * 1024
READ_METHODS = frozenset({"GET", "HEAD"})


def observe(spec: Any, ctx: CheckContext) -> dict[str, Any]:
    url = ctx.render(spec.url)
    headers = {"User-Agent": "devloop-check", **{k: ctx.render(v) for k, v in spec.headers.items()}}
    for method in {spec.method, *overrides(url, headers)}:
        _method_allowed(method, url, ctx)
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


def overrides(url: str, headers: dict[str, str]) -> list[str]:
    """The methods a request asks a server to use instead of its own (frameworks honour such tunnels).

    Any header whose name says "method" (X-HTTP-Method-Override, X-HTTP-Method,
    X-Method-Override, X-Original-Method...) and a ``_method``/``method`` query
    parameter; each counts as the method it names.
    """
    from urllib.parse import parse_qsl, urlsplit

    out = [v.strip().upper() for k, v in headers.items() if "method" in k.lower()]
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    out += [v.strip().upper() for k, v in query if k.lower() in ("_method", "method", "x-http-method-override")]
    return out


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
