"""Run a child process in its own process group under a timeout.

Shared by command agents, local gates, smoke scripts and deploy commands. The
call ends when the program exits or its timeout passes; then the whole group
gets SIGTERM, and SIGKILL after a grace period, so grandchildren never outlive
the call, and devloop never blocks on a pipe a leftover process holds. Output
is bounded in memory whatever the program writes. Every running group is registered, so that an
interrupt (Ctrl-C, SIGTERM; see :mod:`devloop.runtime.interrupts`) can stop them all,
including those started from worker threads.

``kill -9`` of devloop runs no handler, so each group is also recorded on
disk while it runs (``.devloop/groups/<pgid>.json``, once the run holds the
workspace lock): the next run that takes the lock ends any group an earlier,
dead run left behind, before it starts anything of its own
(:func:`end_leftovers`).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devloop.runtime import interrupts
from devloop.runtime.atomic import atomic_write_text, remove
from devloop.runtime.pids import alive

KILL_GRACE_S = 2.0  # between SIGTERM and SIGKILL
DRAIN_S = 0.5  # how long to keep reading pipes once the program has ended and its group is killed
SLICE_S = 0.25  # longest blocking wait: a signal taken by another thread is acted on within this
OUTPUT_LIMIT = 64 * 1024 * 1024  # stdout kept by default; the rest is read and dropped
STDERR_TAIL = 1024 * 1024  # stderr kept: its last MiB (where the reason for a failure is)
_CHUNK = 64 * 1024


_live: set[int] = set()  # process group ids of running children (set operations are atomic under the GIL)
_groups_dir: Path | None = None  # where running groups are recorded (set once the workspace lock is held)
GROUPS = "groups"


@dataclass
class Completed:
    returncode: int | None  # None when killed on timeout
    stdout: bytes
    stderr: bytes
    duration_s: float
    timed_out: bool = False
    overflow: bool = False  # stdout went past the limit: what is kept is its start only


def run_in_group(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    stdin: bytes | None = None,
    limit: int = OUTPUT_LIMIT,
    stop_on_overflow: bool = False,
) -> Completed:
    """Run ``argv``; raises OSError (FileNotFoundError, PermissionError) when it cannot start.

    The call ends when the program itself exits, not when its pipes close:
    whatever it left running in its group is killed then, and what it wrote
    is read without waiting for a leftover (or escaped) process that holds
    the pipe. At most ``limit`` bytes of stdout are kept; past that the
    program is stopped when ``stop_on_overflow`` (an answer that large is
    refused anyway), else the rest is read and dropped.
    """
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
            _record(proc.pid, argv)
        if interrupts.requested():  # stopped while this (worker) thread was starting it
            raise interrupts.Interrupted("stopped while starting")
        got = _Output(limit)
        ended = _collect(proc, stdin, start + timeout, got, stop_on_overflow)
        if not ended:
            kill_group(proc)
            _drain(proc, got)
        return Completed(
            proc.returncode if ended else None,
            bytes(got.out),
            bytes(got.err),
            time.monotonic() - start,
            timed_out=not ended,
            overflow=got.overflow,
        )
    except BaseException:  # Ctrl-C, SIGTERM, SystemExit: the child's group never outlives us
        if proc is not None:
            kill_group(proc)
        raise
    finally:
        if proc is not None:
            _close_pipes(proc)
            _live.discard(proc.pid)
            _unrecord(proc.pid)


class _Output:
    """What a program wrote, bounded: the start of stdout, the end of stderr."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.out = bytearray()
        self.err = bytearray()
        self.overflow = False

    def add(self, stream: str, data: bytes) -> None:
        if stream == "err":
            self.err += data
            if len(self.err) > 2 * STDERR_TAIL:
                del self.err[:-STDERR_TAIL]
            return
        room = self.limit - len(self.out)
        if len(data) > room:
            self.overflow = True
        self.out += data[: max(room, 0)]


def _collect(
    proc: subprocess.Popen[bytes], stdin: bytes | None, deadline: float, got: _Output, stop_on_overflow: bool
) -> bool:
    """Feed stdin and read both pipes until the program ends (True) or ``deadline`` passes (False).

    Waits in slices of at most SLICE_S: a signal the kernel hands to another
    thread of this process does not interrupt a blocking wait here, and its
    Python handler runs only when this thread executes again. The program's
    exit wakes the wait at once (a pidfd is watched with the pipes, where the
    system has them), so no slice is lost after it ends, whether its pipes
    closed before it exited or a leftover process still holds them.
    """
    sel = selectors.DefaultSelector()
    names: dict[int, str] = {}
    for pipe, name in ((proc.stdout, "out"), (proc.stderr, "err")):
        if pipe is not None:
            sel.register(pipe.fileno(), selectors.EVENT_READ)
            names[pipe.fileno()] = name
    exited = _pidfd(proc.pid)
    if exited is not None:
        sel.register(exited, selectors.EVENT_READ)
    pending = memoryview(stdin or b"")
    if proc.stdin is not None:
        os.set_blocking(proc.stdin.fileno(), False)
        if pending:
            sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
    try:
        while True:
            now = time.monotonic()
            if proc.poll() is not None:
                if exited is not None:
                    sel.unregister(exited)
                _end_group(proc)  # its leftovers end with it; then take what is already written
                _read_ready(sel, names, got, until=time.monotonic() + DRAIN_S)
                return True
            if now >= deadline:
                return False
            if exited is None and not names and (proc.stdin is None or proc.stdin.closed):
                # No pidfd, both pipes ended, nothing left to write: wait for the exit itself.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(SLICE_S, deadline - now))
                continue
            for key, _ in sel.select(min(SLICE_S, deadline - now)):
                fd = key.fd
                if fd == exited:  # the program has ended: reap it, and the next turn sees it
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=max(0.0, min(SLICE_S, deadline - time.monotonic())))
                    continue
                if fd in names:
                    _read_one(sel, fd, names, got)
                    if got.overflow and stop_on_overflow:
                        _end_group(proc)
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            proc.wait(timeout=KILL_GRACE_S)
                        return proc.returncode is not None
                else:
                    pending = _write_some(sel, proc, pending)
    finally:
        sel.close()
        if exited is not None:
            os.close(exited)


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux 5.3+), or None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _read_one(sel: selectors.BaseSelector, fd: int, names: dict[int, str], got: _Output) -> None:
    try:
        data = os.read(fd, _CHUNK)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if data:
        got.add(names[fd], data)
    else:
        sel.unregister(fd)
        del names[fd]


def _read_ready(sel: selectors.BaseSelector, names: dict[int, str], got: _Output, until: float) -> None:
    """Read until both pipes reach their end or nothing more comes before ``until``."""
    while names:
        left = until - time.monotonic()
        if left <= 0:
            return
        ready = [k.fd for k, _ in sel.select(min(SLICE_S, left)) if k.fd in names]
        if not ready:
            return
        for fd in ready:
            _read_one(sel, fd, names, got)


def _write_some(sel: selectors.BaseSelector, proc: subprocess.Popen[bytes], pending: memoryview) -> memoryview:
    """Hand the program the next piece of its input; close stdin when all is written or it stops reading."""
    assert proc.stdin is not None
    try:
        n = os.write(proc.stdin.fileno(), pending[:_CHUNK])
    except BlockingIOError:
        return pending
    except OSError:  # it closed its stdin (EPIPE): the rest is not wanted
        n = len(pending)
    pending = pending[n:]
    if not pending:
        sel.unregister(proc.stdin.fileno())
        proc.stdin.close()
    return pending


def _drain(proc: subprocess.Popen[bytes], got: _Output) -> None:
    """After a kill: whatever is left in the pipes, without waiting on a process that escaped the group."""
    sel = selectors.DefaultSelector()
    names = {}
    for pipe, name in ((proc.stdout, "out"), (proc.stderr, "err")):
        if pipe is not None and not pipe.closed:
            sel.register(pipe.fileno(), selectors.EVENT_READ)
            names[pipe.fileno()] = name
    try:
        _read_ready(sel, names, got, until=time.monotonic() + DRAIN_S)
    finally:
        sel.close()


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM what is left of a group, SIGKILL it after a grace period if it is still there."""
    _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE_S
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader: a zombie would look alive
        if not _running(proc.pid):
            return
        time.sleep(0.02)
    _signal_group(proc.pid, signal.SIGKILL)


def _running(pgid: int) -> bool:
    """Whether a member of the group still runs; zombies waiting for another parent to reap them do not."""
    if not _alive(pgid):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return _alive(pgid)
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


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


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group, SIGKILL it after a grace period, then reap without blocking forever."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc.pid, signal.SIGKILL)  # also grandchildren that ignored SIGTERM
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass  # unkillable (stuck in the kernel): give up rather than hang devloop


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


# -- groups a killed run left behind ----------------------------------------------------------
def track_groups(state_dir: Path) -> None:
    """Record this process's (and its forked workers') running groups under ``state_dir``."""
    global _groups_dir
    _groups_dir = state_dir / GROUPS


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: with the pid, it names one process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _record(pgid: int, argv: list[str]) -> None:
    if _groups_dir is None:
        return
    import json

    entry = {"pgid": pgid, "start": _start_time(pgid), "owner": os.getpid(), "program": Path(argv[0]).name}
    with contextlib.suppress(OSError):
        _groups_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(_groups_dir / f"{pgid}.json", json.dumps(entry), fsync=False)


def _unrecord(pgid: int) -> None:
    if _groups_dir is not None:
        with contextlib.suppress(OSError):
            remove(_groups_dir / f"{pgid}.json")


def end_leftovers(state_dir: Path) -> list[str]:
    """End every recorded group whose run is gone; one line per group ended, for the user.

    A group is ended only when the process that started it is no longer
    running and the group is: its leader with the start time recorded (a
    reused pid is left alone), or, the leader gone, members still in it.
    """
    import json

    folder = state_dir / GROUPS
    try:
        entries = sorted(folder.glob("*.json"))
    except OSError:
        return []
    said = []
    for path in entries:
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            pgid, owner = int(entry["pgid"]), int(entry["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if owner != os.getpid() and alive(owner):
            continue  # its run is still stopping (or still running): not ours to end
        leader_now = _start_time(pgid)
        same = leader_now is not None and leader_now == entry.get("start")
        if same or (leader_now is None and _running(pgid)):
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + KILL_GRACE_S
            while time.monotonic() < deadline and _running(pgid):
                time.sleep(0.05)
            _signal_group(pgid, signal.SIGKILL)
            said.append(f"ended {entry.get('program')} (process group {pgid}), left running by an earlier run")
        path.unlink(missing_ok=True)
    return said


interrupts.on_stop(signal_all, stop_all)  # a Ctrl-C or SIGTERM stops every child started here
