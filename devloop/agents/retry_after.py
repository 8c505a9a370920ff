"""How long a server asks a client to wait before trying again, read from every header users meet.

Servers say it in different ways: ``Retry-After`` in seconds or as an HTTP date (RFC 9110),
``retry-after-ms`` (OpenAI, Azure), the same names prefixed ``llm_provider-`` when LiteLLM's proxy
passes on its upstream's headers, and OpenAI's or vLLM's ``x-ratelimit-reset-requests`` /
``-tokens`` as a Go-style duration (``1s``, ``6m0s``, ``20ms``). Pure functions: the caller decides
what to do with the answer (cap it, give up, show it).
"""

from __future__ import annotations

import math
import re
from email.utils import parsedate_to_datetime

PREFIXES = ("", "llm_provider-")  # LiteLLM's proxy forwards an upstream's headers under this prefix
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")


def server_wait(headers: dict[str, str], now: float) -> tuple[float, str] | None:
    """Seconds to wait and the header that said so; None when no header says anything usable.

    ``headers`` have lower-case names; ``now`` is the wall clock (``time.time()``) an HTTP date is
    measured from. The most precise header wins: ``retry-after-ms``, then ``retry-after``, then the
    rate-limit resets (the exhausted one when ``x-ratelimit-remaining-*`` says which, else the longest).
    """
    for prefix in PREFIXES:
        ms = _seconds(headers.get(f"{prefix}retry-after-ms"))
        if ms is not None:
            return ms / 1000.0, f"{prefix}retry-after-ms"
    for prefix in PREFIXES:
        name = f"{prefix}retry-after"
        after = retry_after(headers.get(name), now)
        if after is not None:
            return after, name
    for prefix in PREFIXES:
        found = _reset(headers, prefix)
        if found is not None:
            return found
    return None


def retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: a number of seconds, or an HTTP date (past dates: 0)."""
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT; a date without a zone is read as such
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def duration(value: str | None) -> float | None:
    """A reset time as sent by OpenAI and vLLM: ``1s``, ``6m0s``, ``1h2m3.5s``, ``20ms``, or plain seconds."""
    if value is None:
        return None
    text = value.strip().lower()
    seconds = _seconds(text)
    if seconds is not None:
        return seconds
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    total = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    return total if math.isfinite(total) else None


def _reset(headers: dict[str, str], prefix: str) -> tuple[float, str] | None:
    found: dict[str, float] = {}
    for kind in ("requests", "tokens"):
        name = f"{prefix}x-ratelimit-reset-{kind}"
        value = duration(headers.get(name))
        if value is not None:
            found[name] = value
    if not found:
        return None
    exhausted = {
        name: value
        for name, value in found.items()
        if _seconds(headers.get(name.replace("-reset-", "-remaining-"))) == 0
    }
    pool = exhausted or found
    name = max(pool, key=lambda n: pool[n])
    return pool[name], name


def _seconds(value: str | None) -> float | None:
    """A finite, non-negative number of seconds; anything else is None."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None
