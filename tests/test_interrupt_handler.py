"""A second signal that lands while the first one's handler runs never blocks the process.

``doit -n`` workers get Ctrl-C (the terminal's SIGINT to the group) and their
parent's SIGTERM at nearly the same moment; Python runs the second handler
inside the first one, in the same thread. A handler that took a lock (the
``threading.Event`` it used to set) then waited forever for itself, and the
parent SIGKILLed the worker before it recorded its interrupt.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import pytest

from devloop.runtime import interrupts


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interrupts, "_requested", False)
    monkeypatch.setattr(interrupts, "_pending", [])
    monkeypatch.setattr(interrupts, "_held", 0)


def _with_second_at(k: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[BaseException]]:
    """The SIGINT handler runs; at the ``k``-th line it (or what it calls) runs, the SIGTERM handler runs nested,
    as Python runs a handler between two bytecodes: what it raises propagates from there. Returns how many
    lines ran and what escaped the first handler."""
    monkeypatch.setattr(interrupts, "_requested", False)
    monkeypatch.setattr(interrupts, "_pending", [])
    lines = 0
    escaped: list[BaseException] = []

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
            if lines == k:
                interrupts._handler(signal.SIGTERM, None)  # tracing is off inside a tracer: one level deep
        return tracer

    def first() -> None:
        sys.settrace(tracer)
        try:
            interrupts._handler(signal.SIGINT, None)
        except BaseException as exc:
            escaped.append(exc)
        finally:
            sys.settrace(None)

    worker = threading.Thread(target=first, daemon=True)  # daemon: a hung handler must not hang pytest
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), f"the handler blocked when a second signal landed at its line {k}"
    return lines, escaped


def test_a_second_signal_at_any_line_of_the_first_never_blocks(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    total, escaped = _with_second_at(0, monkeypatch)  # k = 0: no second signal; counts the lines
    assert total > 0 and [type(e) for e in escaped] == [interrupts.Interrupted]
    for k in range(1, total + 1):
        _, escaped = _with_second_at(k, monkeypatch)
        assert len(escaped) == 1 and isinstance(escaped[0], interrupts.Interrupted), (k, escaped)
        assert interrupts.requested()


def test_the_first_signal_raises_and_later_ones_only_forward(fresh: None) -> None:
    with pytest.raises(interrupts.Interrupted):
        interrupts._handler(signal.SIGINT, None)
    interrupts._handler(signal.SIGTERM, None)  # no second exception while the first is being recorded
    assert interrupts.requested()


def test_a_signal_while_a_child_starts_waits_for_it_to_be_registered(fresh: None) -> None:
    with pytest.raises(interrupts.Interrupted, match="SIGTERM"):
        with interrupts.held():
            interrupts._handler(signal.SIGTERM, None)  # held: noted, not raised inside the start
            assert interrupts._pending == ["SIGTERM"]
