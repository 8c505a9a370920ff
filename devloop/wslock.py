"""The workspace lock: one devloop/doit run at a time changes a workspace.

Taken by the first step that does real work and held until the process ends,
so an up-to-date ``doit`` never waits. ``fcntl.flock`` is released by the
kernel when the holder dies, so ``kill -9`` never leaves a stale lock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from devloop.errors import WorkspaceBusy

_held: dict[Path, object] = {}


def acquire(state_dir: Path, wait: bool | None = None, poll: float = 0.2) -> None:
    """Take the lock for the workspace whose state folder is ``state_dir`` (re-entrant).

    Fails fast with :class:`WorkspaceBusy` unless ``wait`` (default: env
    ``DEVLOOP_WAIT=1``) asks to wait for the other run to finish.
    """
    key = state_dir.resolve()
    if key in _held:
        return
    from filelock import FileLock, Timeout

    if wait is None:
        wait = os.environ.get("DEVLOOP_WAIT", "") not in ("", "0")
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(key / "workspace.lock"), thread_local=False)
    started = time.monotonic()
    while True:
        try:
            lock.acquire(timeout=0)
            break
        except Timeout:
            if not wait:
                raise WorkspaceBusy(
                    f"another devloop or doit run is working in {key.parent}; "
                    "wait for it, or use `devloop run --wait` (DEVLOOP_WAIT=1)"
                ) from None
            if time.monotonic() - started > 24 * 3600:
                raise WorkspaceBusy("gave up waiting for the workspace lock after 24 h") from None
            time.sleep(poll)
    _held[key] = lock


def release_all() -> None:
    for lock in _held.values():
        lock.release()  # type: ignore[attr-defined]
    _held.clear()
