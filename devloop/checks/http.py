"""HTTP checks with the standard library: status, latency, body and headers.

A 4xx/5xx answer is an observation (``status == 503`` is a fine thing to
expect); only failing to get an answer at all (refused, DNS, timeout) is an
ERROR. The body is read up to 1 MB and the whole call, not each socket read,
is held to the check's timeout.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from typing import Any

from devloop.checks.base import MAX_TEXT_BYTES, CheckContext, CheckError, capped_text
from devloop.checks.durations import format_duration

CHUNK = 64 * 1024


def observe(spec: Any, ctx: CheckContext) -> dict[str, Any]:
    url = ctx.render(spec.url)
    headers = {"User-Agent": "devloop-check", **{k: ctx.render(v) for k, v in spec.headers.items()}}
    data = spec.body.encode("utf-8") if spec.body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=spec.method)
    start = time.monotonic()
    deadline = start + spec.timeout
    try:
        response = urllib.request.urlopen(request, timeout=spec.timeout)
    except urllib.error.HTTPError as exc:  # an answer, just not a 2xx one
        response = exc
    except (urllib.error.URLError, OSError) as exc:
        raise CheckError(f"http: {_why(exc, spec.timeout)} ({spec.method} {url})") from None
    with response:
        try:
            body = _read(response, deadline, spec.timeout)
        except (OSError, TimeoutError) as exc:
            raise CheckError(f"http: {_why(exc, spec.timeout)} reading the body ({spec.method} {url})") from None
        latency_ms = round((time.monotonic() - start) * 1000, 1)
        return {
            "status": int(response.status),
            "latency_ms": latency_ms,
            "body": capped_text(body),
            "headers": {k.lower(): v for k, v in response.headers.items()},
        }


def _read(response: Any, deadline: float, timeout: float) -> bytes:
    """At most MAX_TEXT_BYTES + 1 bytes (so capping is visible), within the overall deadline."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_TEXT_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {format_duration(timeout)}")
        chunk = response.read(min(CHUNK, MAX_TEXT_BYTES + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _why(exc: BaseException, timeout: float) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"timeout: no answer within {format_duration(timeout)}"
    if isinstance(reason, ConnectionRefusedError):
        return "network: connection refused"
    if isinstance(reason, socket.gaierror):
        return f"network: cannot resolve the host ({reason})"
    return f"network: {reason}"
