"""Wait for a condition in a test by polling it against a deadline, not by a fixed pause that hopes it holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.02) -> T:
    """Call ``predicate`` until it returns something true or ``timeout`` seconds have passed; return its last value.

    The predicate is always called once more at the deadline, so a slow machine fails only on a condition that
    really never held: ``assert wait_until(lambda: ..., 10), "what never happened"``.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
