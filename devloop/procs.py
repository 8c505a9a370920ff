"""Run a child process in its own process group under a timeout.

Shared by command agents, local gates, smoke scripts and deploy commands. On
timeout the whole group gets SIGTERM, then SIGKILL after a grace period, so
grandchildren never outlive the call, and devloop never blocks forever on a
pipe an escaped process holds. Every running group is registered, so that an
interrupt (Ctrl-C, SIGTERM; see :mod:`devloop.interrupts`) can stop them all,
including those started from worker threads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KILL_GRACE_S = 2.0  # between SIGTERM and SIGKILL
DRAIN_S = 2.0  # how long to wait for pipes after killing
SLICE_S = 0.25  # longest blocking wait: a signal taken by another thread is acted on within this


_live: set[int] = set()  # process group ids of running children (set operations are atomic under the GIL)


@dataclass
class Completed:
    returncode: int | None  # None when killed on timeout
    stdout: bytes
    stderr: bytes
    duration_s: float
    timed_out: bool = False


def run_in_group(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    stdin: bytes | None = None,
) -> Completed:
    """Run ``argv``; raises OSError (FileNotFoundError, PermissionError) when it cannot start."""
    from devloop import interrupts

    start = time.monotonic()
    proc: subprocess.Popen[bytes] | None = None
    try:
        with interrupts.held():  # a Ctrl-C while the child starts lands once it is registered
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            _live.add(proc.pid)
        if interrupts.requested():  # stopped while this (worker) thread was starting it
            raise interrupts.Interrupted("stopped while starting")
        out, err = _communicate(proc, stdin, start + timeout)
        if out is None or err is None:
            out, err = kill_group(proc)
            return Completed(None, out, err, time.monotonic() - start, timed_out=True)
        return Completed(proc.returncode, out, err, time.monotonic() - start)
    except BaseException:  # Ctrl-C, SIGTERM, SystemExit: the child's group never outlives us
        if proc is not None:
            kill_group(proc)
        raise
    finally:
        if proc is not None:
            _live.discard(proc.pid)


def _communicate(
    proc: subprocess.Popen[bytes], stdin: bytes | None, deadline: float
) -> tuple[bytes | None, bytes | None]:
    """``communicate`` in short slices until ``deadline`` (then ``(None, None)``).

    A signal the kernel hands to another thread of this process does not
    interrupt a long blocking wait here; its Python handler runs only when
    this thread executes again. Waiting in slices bounds that delay.
    """
    data = stdin
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None
        try:
            return proc.communicate(data, timeout=min(SLICE_S, left))
        except subprocess.TimeoutExpired:
            data = None  # the input was handed over on the first call


def signal_all(sig: signal.Signals) -> None:
    """Send ``sig`` to every running child group (safe inside a signal handler)."""
    for pgid in list(_live):
        _signal_group(pgid, sig)


def stop_all(grace: float = KILL_GRACE_S) -> None:
    """SIGTERM every running child group, then SIGKILL what is left after ``grace`` seconds."""
    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _live and time.monotonic() < deadline:
        if not any(_alive(pgid) for pgid in list(_live)):
            return
        time.sleep(0.05)
    signal_all(signal.SIGKILL)


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_group(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """SIGTERM the group, SIGKILL it after a grace period, then reap without blocking forever."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc.pid, signal.SIGKILL)  # also grandchildren that ignored SIGTERM
    try:
        out, err = proc.communicate(timeout=DRAIN_S)
        return out or b"", err or b""
    except subprocess.TimeoutExpired:
        # A process that left our group still holds the pipes: stop listening.
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        try:
            proc.wait(timeout=DRAIN_S)
        except subprocess.TimeoutExpired:
            pass  # unkillable (stuck in the kernel): give up rather than hang devloop
        return b"", b""


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def last_line(data: bytes, limit: int = 200) -> str:
    """The last non-empty line, shortened: enough to tell a human why a call failed."""
    lines = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    return line if len(line) <= limit else line[: limit - 3] + "..."
