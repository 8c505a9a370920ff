"""The workspace lock: one devloop/doit run at a time changes a workspace.

Taken as soon as a run finds a stale step (never by an up-to-date run), and
held until the process ends. ``flock`` is released by the kernel when its
holder dies, so ``kill -9`` never leaves a stale lock. The holder writes its
PID into the lock file so that doit's forked workers (``doit -n N``) can tell
that their parent already holds it for them.

This is the standard library's ``fcntl.flock`` rather than the filelock
package because it is on the no-op path's import budget and needs the
holder's PID.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from devloop.errors import WorkspaceBusy

LOCK_NAME = "workspace.lock"
_held: dict[Path, int] = {}  # state dir -> open file descriptor


def holder(state_dir: Path) -> int | None:
    """PID written by the current holder, if any."""
    try:
        return int((state_dir / LOCK_NAME).read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def acquire(state_dir: Path, wait: bool | None = None, poll: float = 0.2) -> None:
    """Take the lock for the workspace whose state folder is ``state_dir`` (re-entrant).

    Fails fast with :class:`WorkspaceBusy` unless ``wait`` (default: env
    ``DEVLOOP_WAIT=1``) asks to wait for the other run to finish.
    """
    key = state_dir.resolve()
    if key in _held:
        return
    if wait is None:
        wait = os.environ.get("DEVLOOP_WAIT", "") not in ("", "0")
    key.mkdir(parents=True, exist_ok=True)
    fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if holder(key) == os.getppid():  # a doit worker: the parent run holds it for us
                os.close(fd)
                return
            if not wait:
                os.close(fd)
                pid = holder(key)
                who = f" (pid {pid})" if pid else ""
                raise WorkspaceBusy(
                    f"another devloop or doit run{who} is working in {key.parent}; "
                    "wait for it, or use `devloop run --wait` (DEVLOOP_WAIT=1)"
                ) from None
            if time.monotonic() - started > 24 * 3600:
                os.close(fd)
                raise WorkspaceBusy("gave up waiting for the workspace lock after 24 h") from None
            time.sleep(poll)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[key] = fd


@contextlib.contextmanager
def serial(state_dir: Path, name: str) -> Iterator[None]:
    """Run the body alone among this workspace's runs and workers (blocking wait).

    Used around author calls whose changed files are found by comparing
    snapshots: two of them at once could not tell whose file is whose.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
