"""A call ends when its program exits: the exit itself wakes the wait, not the next slice or the timeout.

Every program here is a real executable (``python -c``) run through the real
process-group runner. The slice is made an hour long, so a wait that is not
woken by the exit would hold the call for that hour: each test runs the call
in a thread and only checks that it came back (a hang guard, not a timing).
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from devloop.runtime import procs

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
HOUR = 3600.0
HAS_PIDFD = procs._pidfd(os.getpid()) is not None


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def call(argv: list[str], cwd: Path, stdin: bytes | None = None) -> procs.Completed:
    """run_in_group in a daemon thread; fails the test if it has not come back within a minute."""
    out: list[procs.Completed | BaseException] = []

    def body() -> None:
        try:
            out.append(procs.run_in_group(argv, cwd, ENV, timeout=HOUR, stdin=stdin))
        except BaseException as exc:  # handed back to the test
            out.append(exc)

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the call did not end when its program did"
    (got,) = out
    if isinstance(got, BaseException):
        raise got
    return got


@pytest.fixture(params=["pidfd", "no pidfd"] if HAS_PIDFD else ["no pidfd"])
def exit_watch(request, monkeypatch):
    """Run each test with the pidfd (Linux) and without it (other systems, old kernels); an hour-long slice."""
    monkeypatch.setattr(procs, "SLICE_S", HOUR)
    if request.param == "no pidfd":
        monkeypatch.setattr(procs, "_pidfd", lambda pid: None)
    return request.param


# The program closes both pipes, then works on: the pipes' end is not its exit.
CLOSES_PIPES = """
    import os, sys, time
    data = sys.stdin.read()
    print("read", len(data), flush=True)
    os.close(1); os.close(2)
    time.sleep(0.3)
    os._exit(5)
"""


def test_a_program_that_closes_its_pipes_early_is_seen_exiting(tmp_path, exit_watch):
    done = call(python(CLOSES_PIPES), tmp_path, stdin=b"x" * 100)
    assert not done.timed_out
    assert done.returncode == 5
    assert done.stdout == b"read 100\n"


def test_a_program_that_answers_and_exits_returns_its_answer(tmp_path, exit_watch):
    done = call(python("import sys; print(sys.stdin.read().upper()); sys.exit(0)"), tmp_path, stdin=b"vote\n")
    assert (done.returncode, done.stdout, done.timed_out) == (0, b"VOTE\n\n", False)


def test_a_program_with_no_stdin_and_no_output_is_seen_exiting(tmp_path, exit_watch):
    done = call(python("import time; time.sleep(0.2)"), tmp_path)
    assert (done.returncode, done.stdout, done.stderr, done.timed_out) == (0, b"", b"", False)


@pytest.mark.skipif(not HAS_PIDFD, reason="needs pidfd_open (Linux 5.3+)")
def test_an_escaped_process_holding_the_pipes_does_not_hold_the_call(tmp_path, monkeypatch):
    """It left the group (its own session), so the group's end does not close the pipes; the exit still counts."""
    monkeypatch.setattr(procs, "SLICE_S", HOUR)
    monkeypatch.setattr(procs, "DRAIN_S", 0.2)
    pid_file = tmp_path / "escaped.pid"
    code = """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
        open(sys.argv[1], "w").write(str(child.pid))
        print("VOTE: PRODUCTION GRADE", flush=True)
    """
    try:
        done = call([*python(code), str(pid_file)], tmp_path)
        assert done.returncode == 0
        assert done.stdout == b"VOTE: PRODUCTION GRADE\n"
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_no_descriptor_is_left_open_by_a_call(tmp_path, exit_watch):
    def open_fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    call(python("print('warm')"), tmp_path)
    before = open_fds()
    for _ in range(5):
        call(python("import sys; sys.stdout.write(sys.stdin.read())"), tmp_path, stdin=b"echo")
    assert open_fds() <= before
