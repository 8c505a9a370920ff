"""Ctrl-C and SIGTERM during a run: stop every agent's process group, then unwind once.

Agents run in process groups (sessions) of their own, so a terminal's Ctrl-C
reaches doit but not them. The handler installed here forwards the stop to
every registered child group at once (worker threads included) and raises
:class:`Interrupted` in the main thread; later signals while devloop records
the interrupt only repeat the forwarding.

The handler takes no lock: a second signal can land while the first one's
handler is still running, in the same thread, and would wait forever for a
lock that thread holds (a worker of ``doit -n`` gets Ctrl-C and its parent's
SIGTERM at once). Its state is plain assignments, which need none.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

_requested = False  # set by the first signal; a plain flag, not an Event (see the module docstring)
# How to stop the children that are running, given by the module that starts them (devloop.runtime.procs registers
# itself on import): a signal for all of them at once, and the full stop (signal, grace, SIGKILL). Nothing
# registered means no child was ever started.
_signal_children: list[Callable[[signal.Signals], None]] = []
_stop_children: list[Callable[[], None]] = []
_held = 0  # > 0 while the main thread starts a child: the stop waits until the child is registered
_pending: list[str] = []


class Interrupted(KeyboardInterrupt):
    """A run was stopped by SIGINT or SIGTERM."""


def requested() -> bool:
    return _requested


def on_stop(signal_all: Callable[[signal.Signals], None], stop_all: Callable[[], None]) -> None:
    """Register how to stop the running children: called once by the module that starts them."""
    _signal_children.append(signal_all)
    _stop_children.append(stop_all)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _requested
    first, _requested = not _requested, True
    for signal_all in _signal_children:
        signal_all(signal.SIGTERM)
    if first:
        if _held:
            _pending.append(signal.Signals(signum).name)
            return
        raise Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold a stop that lands while the body runs (starting and registering a child) until it ends.

    Only the main thread receives the exception; other threads check
    :func:`requested` after they registered their child.
    """
    global _held
    main = threading.current_thread() is threading.main_thread()
    if main:
        _held += 1
    try:
        yield
    finally:
        if main:
            _held -= 1
            if not _held and _pending:
                raise Interrupted(_pending.pop())


def stop_workers(grace: float = 10.0, gently: bool = True) -> bool:
    """SIGTERM doit's worker processes (``doit -n``) and give them time to record their stop.

    A worker forked just after the parent took the signal never saw it, and
    doit only stops its workers when the signal lands in its dispatch loop:
    so the parent always does it here. Not ``gently``: SIGKILL at once, for
    workers that cannot have started a step (this run never took the lock).
    Returns whether there were any.
    """
    import multiprocessing
    import time

    children = multiprocessing.active_children()
    if not gently:
        for child in children:
            child.kill()
            child.join(grace)
        return bool(children)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive() and child.pid:
            for grandchild in _children(child.pid):  # its agents lead groups of their own: stop them first
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(grandchild, signal.SIGKILL)
            child.kill()
    return bool(children)


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc; empty elsewhere)."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


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
                for stop_all in _stop_children:
                    stop_all()
                sys.stdout.flush()
                if not stop_workers():  # doit -n workers say it themselves, per step they stopped
                    print("devloop: interrupted; every agent was stopped. Next: doit", file=sys.__stderr__, flush=True)
                os._exit(130)
            previous(kind, exc, tb)

        hook._devloop = True  # type: ignore[attr-defined]
        sys.excepthook = hook
