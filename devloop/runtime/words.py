"""How devloop counts and names things for people, the same way in every view."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 call``, ``2 calls``, ``0 features``: never ``call(s)``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def verdict(value: object) -> str:
    """A verdict as answers spell it (``PRODUCTION GRADE``, ``NEEDS WORK``), not as records key it."""
    return str(value).replace("_", " ") if value is not None else "?"
