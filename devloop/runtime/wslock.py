"""The workspace lock: one devloop/doit run at a time changes a workspace.

Taken by a run's main process as soon as it finds a stale step (never by an
up-to-date run), and held until that process ends. ``flock`` is released by
the kernel when its holder dies, so ``kill -9`` never leaves a stale lock.
The holder writes its PID into the lock file (and clears it when it ends
normally): doit's forked workers (``doit -n N``) read it to tell that their
parent holds the lock for them, and the next run reads it to say whose lock
it takes over.

Forked workers close their copy of the lock at once, so it dies with the main
process, and are asked to die with it (SIGTERM, even when it is killed with
``kill -9``). A worker that runs a step holds ``workers.lock`` shared until it
exits: a run taking over from a killed one waits there (bounded) until the
killed run's workers have stopped their agents and recorded the interrupted
calls, so that no two runs ever write the same feature's lock.

This is the standard library's ``fcntl.flock`` rather than the filelock
package because it is on the no-op path's import budget and needs the
holder's PID.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devloop.runtime import journal, procs
from devloop.runtime.atomic import sweep_temp_files
from devloop.runtime.errors import WorkspaceBusy
from devloop.runtime.pids import alive

LOCK_NAME = "workspace.lock"
WORKERS_NAME = "workers.lock"
WORKERS_GRACE_S = 30.0  # how long a new run waits for a killed run's workers to stop
_PR_SET_PDEATHSIG = 1
_held: dict[Path, int] = {}  # state dir -> open descriptor of workspace.lock (main process)
_joined: dict[Path, int] = {}  # state dir -> descriptor of workers.lock held shared (doit worker)
_forker = 0  # the process that last forked: a forked child's parent
_watching = False
_prctl: Any = None  # libc's prctl, on Linux


def holder(state_dir: Path) -> int | None:
    """PID written by the current holder, if any."""
    try:
        return int((state_dir / LOCK_NAME).read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def acquire(state_dir: Path, wait: bool | None = None, poll: float = 0.2) -> None:
    """Take the lock for the workspace whose state folder is ``state_dir`` (re-entrant).

    Fails fast with :class:`WorkspaceBusy` unless ``wait`` (default: env
    ``DEVLOOP_WAIT=1``) asks to wait for the other run to finish. Taking it
    also removes the temp files that killed runs left behind.
    """
    key = state_dir.resolve()
    if key in _held or key in _joined:
        return
    if wait is None:
        wait = os.environ.get("DEVLOOP_WAIT", "") not in ("", "0")
    key.mkdir(parents=True, exist_ok=True)
    parent = _parent_run()
    if parent is not None and _join(key, parent):
        procs.track_groups(key)
        journal.start(key.parent, key, fresh=False)
        return
    started = time.monotonic()
    while (fd := _try_lock(key)) is None:
        if not wait:
            raise _busy(key)
        if time.monotonic() - started > 24 * 3600:
            raise WorkspaceBusy("gave up waiting for the workspace lock after 24 h")
        time.sleep(poll)
    _held[key] = fd
    watch_forks()
    atexit.register(_release, key, fd, os.getpid())
    _wait_for_workers(key)

    for line in procs.end_leftovers(key):  # before this run starts any agent of its own
        _say(line)
    import shutil

    shutil.rmtree(key / "calls", ignore_errors=True)  # the prompt and answer folders of calls a killed run made
    procs.track_groups(key)
    journal.start(key.parent, key, fresh=True)
    # The whole workspace only after a run that did not end cleanly: a walk of every folder costs tens of
    # milliseconds in a large repository. Otherwise the state folder, whose small caches are written without
    # the lock, but not the answer store in it (11,000 files at 1000 features, 150 ms a run): a clean run
    # leaves no temp file there, and `devloop cache gc` sweeps what a killed `cache pull` left.
    if _died.get(key, True):
        sweep_temp_files(key.parent)
    else:
        sweep_temp_files(key, skip=frozenset({str(key / "cache")}))


def _busy(key: Path) -> WorkspaceBusy:
    pid = holder(key)
    who = f" (pid {pid})" if pid else ""
    return WorkspaceBusy(
        f"another devloop or doit run{who} is working in {key.parent}; "
        "wait for it, or use `devloop run --wait` (DEVLOOP_WAIT=1)"
    )


def _parent_run() -> int | None:
    """In a doit worker (a multiprocessing child), the PID of the run that started it."""
    mp = sys.modules.get("multiprocessing")
    parent = mp.parent_process() if mp is not None else None
    return parent.pid if parent is not None else None


def _join(key: Path, parent: int) -> bool:
    """In a doit worker: work under the parent's lock, holding ``workers.lock`` shared until exit.

    False when the parent does not hold the lock; a worker whose run has
    ended (or is being taken over) never takes the lock itself.
    """
    if os.getppid() != parent:
        raise WorkspaceBusy(f"the doit run that started this worker (pid {parent}) has ended")
    if holder(key) != parent:
        return False
    fd = os.open(key / WORKERS_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WorkspaceBusy(f"another run is taking over the workspace lock of pid {parent}") from None
    _joined[key] = fd
    return True


_died: dict[Path, bool] = {}  # per lock taken: whether the run that held it before died holding it


def _try_lock(key: Path) -> int | None:
    """The locked descriptor, or None while a live run holds the lock.

    Under a guard, so that no run reads the holder's PID before the holder
    has written it. A lock whose recorded holder is dead but which is still
    held (by processes the holder left behind) is replaced by a new file.
    """
    with serial(key, "workspace-guard"):
        previous = holder(key)
        fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if previous is None or alive(previous):
                return None
            fd = _replace(key)
        _died[key] = bool(previous and previous != os.getpid())  # a clean exit clears the PID
        if previous and previous != os.getpid() and not alive(previous):
            _say(f"taking over the workspace lock of pid {previous}, which is no longer running")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd


def _replace(key: Path) -> int:
    """A new, locked lock file renamed over the old one, which others may still hold."""
    new = key / f".{LOCK_NAME}.{os.getpid()}.new"
    fd = os.open(new, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.replace(new, key / LOCK_NAME)
    return fd


def _wait_for_workers(key: Path) -> None:
    """Wait until no worker of an earlier run is still stopping (bounded: a stuck one never wedges us)."""
    fd = os.open(key / WORKERS_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + WORKERS_GRACE_S
    said = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    _say(f"workers of a stopped run still run after {WORKERS_GRACE_S:.0f} s; going on without them")
                    return
                if not said:
                    _say("waiting for the workers of a stopped run to finish stopping")
                    said = True
                time.sleep(0.1)
    finally:
        os.close(fd)  # also releases the exclusive lock: this run's own workers take it shared


def _say(line: str) -> None:
    print(f"devloop: {line}", file=sys.stderr, flush=True)


def _release(key: Path, fd: int, pid: int) -> None:
    """At a normal exit: clear the PID (nothing for the next run to take over), then unlock."""
    if os.getpid() != pid or _held.get(key) != fd:
        return
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    with contextlib.suppress(OSError):
        os.close(fd)
    del _held[key]


def refuse_inside_step() -> None:
    """An agent may not drive devloop or doit from inside a step: the run that called it holds the workspace.

    Agents are started with ``DEVLOOP_CALL_ID`` set (and gates, checks and
    scripts without any ``DEVLOOP_`` variable of the run), so its presence
    means this process was started by an agent during a call.
    """
    call = os.environ.get("DEVLOOP_CALL_ID")
    if not call:
        return
    step, feature = os.environ.get("DEVLOOP_STEP", "?"), os.environ.get("DEVLOOP_FEATURE", "?")
    raise WorkspaceBusy(
        f"started by an agent during step {step} of feature {feature} (call {call}); agents may not run "
        "devloop or doit inside a step, whose run holds the workspace. Run it yourself once the step is done"
    )


def holding() -> bool:
    """Whether this process holds a workspace lock (so its doit workers may be running steps)."""
    return bool(_held)


def watch_forks() -> None:
    """Make every child forked from here on (doit's workers) drop the lock and die with this process.

    Called before doit forks its first worker, which may happen before this
    run takes the lock (a worker started for an up-to-date group task).
    """
    global _watching, _prctl
    if not _watching:
        if sys.platform.startswith("linux"):
            try:  # looked up here: a child must do as little as possible before it is safe
                import ctypes

                _prctl = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                _prctl = None
        os.register_at_fork(before=_note_forker, after_in_child=_forked)
        _watching = True


def _note_forker() -> None:
    global _forker
    _forker = os.getpid()


def _forked() -> None:
    """In a freshly forked child: the lock stays the parent's, and the child dies with the parent."""
    for fd in _held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != _forker:  # the parent died before the request took effect
        os._exit(1)


@contextlib.contextmanager
def serial(state_dir: Path, name: str, shared: bool = False) -> Iterator[None]:
    """Run the body alone among this workspace's runs and workers (blocking wait), or ``shared`` with its kind.

    Used around programs whose changes are found by comparing snapshots:
    two authors at once could not tell whose file is whose, and an
    unconfined judge's snapshot must not see an author's writes.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = _lock_file(state_dir / f"{name}.lock")
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


WRITERS, WATCHERS, ALONE = "write", "watch", "alone"


def _lock_file(path: Path) -> int:
    """An empty file only locked, never written; made when first needed (noted: see devloop.runtime.journal)."""
    with journal.writing(path, b""):
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def group(state_dir: Path, kind: str) -> Iterator[None]:
    """Run the body beside others of its ``kind`` only: writers together, watchers together, or alone.

    Programs confined by the operating system that write in their reach
    are ``write``; unconfined programs that may not write at all (judges
    watched by snapshots) are ``watch``: a watcher's snapshot must never see a
    writer's work, and watchers do not disturb each other. An unconfined
    author is ``alone``. Built from three flocks, entered under a gate so
    that a waiting kind is never starved and two kinds never deadlock.
    """
    state_dir.mkdir(parents=True, exist_ok=True)

    def lock(name: str, how: int) -> int:
        fd = _lock_file(state_dir / f"agents-{name}.lock")
        fcntl.flock(fd, how)
        return fd

    held: list[int] = []
    try:
        gate = lock("gate", fcntl.LOCK_EX)
        try:
            if kind == WRITERS:
                drained = lock("watch", fcntl.LOCK_EX)
                held.append(lock("write", fcntl.LOCK_SH))
                os.close(drained)
            elif kind == WATCHERS:
                drained = lock("write", fcntl.LOCK_EX)
                held.append(lock("watch", fcntl.LOCK_SH))
                os.close(drained)
            else:
                held += [lock("watch", fcntl.LOCK_EX), lock("write", fcntl.LOCK_EX)]
        finally:
            os.close(gate)
        yield
    finally:
        for fd in held:
            os.close(fd)
