"""Durations as people write them in validation.md: ``30s``, ``10m``, ``1h``, ``1h30m``.

Stored as float seconds so timeouts and windows need no further parsing. A
bare number means seconds, as in ``timeout: 30``.
"""

from __future__ import annotations

import re

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_FULL = re.compile(
    r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$"
)
MAX_SECONDS = 7 * 86400.0


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``; ValueError with the accepted forms when it is not a duration."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write it like 30s, 10m, 1h or 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        m = _FULL.match(text)
        if not text or not m or not any(m.groups()):
            raise ValueError(f"{value!r} is not a duration; write it like 30s, 10m, 1h or 1h30m")
        seconds = sum(float(g) * unit for g, unit in zip(m.groups(), _UNITS.values(), strict=True) if g)
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"duration {value!r} must be more than 0 and at most 7d")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of ``1h30m``, ``45s``, ``1.5s``, ``250ms`` that says ``seconds``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds != int(seconds):
        return f"{seconds:.3g}s" if seconds < 60 else f"{seconds:.0f}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)
