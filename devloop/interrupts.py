"""Ctrl-C and SIGTERM during a run: stop every agent's process group, then unwind once.

Agents run in process groups (sessions) of their own, so a terminal's Ctrl-C
reaches doit but not them. The handler installed here forwards the stop to
every registered child group at once (worker threads included) and raises
:class:`Interrupted` in the main thread; later signals while devloop records
the interrupt only repeat the forwarding.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

_requested = threading.Event()


class Interrupted(KeyboardInterrupt):
    """A run was stopped by SIGINT or SIGTERM."""


def requested() -> bool:
    return _requested.is_set()


def _handler(signum: int, frame: FrameType | None) -> None:
    from devloop import procs

    first = not _requested.is_set()
    _requested.set()
    procs.signal_all(signal.SIGTERM)
    if first:
        raise Interrupted(signal.Signals(signum).name)


def install() -> None:
    """Route SIGINT and SIGTERM through the handler (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    if not getattr(sys.excepthook, "_devloop", False):
        previous = sys.excepthook

        def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
            """An interrupt that reached the top outside a step: one line, exit 130, no traceback."""
            if issubclass(kind, KeyboardInterrupt):
                from devloop import procs

                procs.stop_all()
                print("devloop: interrupted; every agent was stopped. Next: doit", file=sys.__stderr__, flush=True)
                sys.stdout.flush()
                os._exit(130)
            previous(kind, exc, tb)

        hook._devloop = True  # type: ignore[attr-defined]
        sys.excepthook = hook
