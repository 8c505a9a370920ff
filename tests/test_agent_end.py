"""An agent's end is the end of its processes, and what it writes is bounded (issue 12, item 6).

Every program here is a real executable (``python -c``), run through the real
process-group runner and the real command agent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from devloop.agents.base import AgentRequest, CallStatus, RoleKind
from devloop.agents.command import CommandAgent
from devloop.config.models import CommandAgentConfig
from devloop.runtime.procs import STDERR_TAIL, run_in_group

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def request(ws: Path) -> AgentRequest:
    return AgentRequest(
        prompt="Review this.\n",
        role="reviewer",
        role_kind=RoleKind.JUDGE,
        step="code_review",
        feature="hello",
        workspace=ws,
        call_id="code_review-1",
    )


def agent(argv: list[str], timeout: float = 60) -> CommandAgent:
    return CommandAgent("fake", CommandAgentConfig(kind="command", argv=argv, timeout=timeout))


# A child that keeps the agent's stdout open and sleeps: the answer must still arrive when the
# agent exits, and the child must be gone afterwards.
LINGERING_CHILD = """
    import os, subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    open(sys.argv[1], "w").write(str(child.pid))
    print("VOTE: NEEDS WORK")
    print("- [P1] src/hello.py:1 — no test for empty input")
    sys.stdout.flush()
    os._exit(0)
"""


def test_a_child_holding_stdout_neither_delays_nor_discards_the_answer(tmp_path):
    pid_file = tmp_path / "child.pid"
    result = agent([*python(LINGERING_CHILD), str(pid_file)], timeout=60).run(request(tmp_path))
    assert result.status is CallStatus.ANSWERED, result.detail
    assert result.text.startswith("VOTE: NEEDS WORK")
    assert wait_gone(int(pid_file.read_text())), "the child that held stdout outlived the agent"


def test_a_detached_child_in_the_agents_group_is_killed_when_the_agent_exits(tmp_path):
    pid_file = tmp_path / "child.pid"
    code = """
        import subprocess, sys
        stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
        child = subprocess.Popen(
            [sys.executable, "-c", stubborn],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        open(sys.argv[1], "w").write(str(child.pid))
        print("VOTE: PRODUCTION GRADE")
    """
    result = agent([*python(code), str(pid_file)]).run(request(tmp_path))
    assert result.status is CallStatus.ANSWERED, result.detail
    pid = int(pid_file.read_text())
    assert wait_gone(pid), "a child ignoring SIGTERM survived the agent's exit"


def test_an_answer_written_before_a_timeout_does_not_count_but_the_group_dies(tmp_path):
    pid_file = tmp_path / "child.pid"
    code = """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open(sys.argv[1], "w").write(str(child.pid))
        print("VOTE: PRODUCTION GRADE", flush=True)
        time.sleep(120)
    """
    result = agent([*python(code), str(pid_file)], timeout=2).run(request(tmp_path))
    assert result.status is CallStatus.UNAVAILABLE
    assert "timed out" in result.detail
    assert wait_gone(int(pid_file.read_text()))


def test_a_process_that_left_the_group_cannot_hold_the_call_open(tmp_path):
    pid_file = tmp_path / "child.pid"
    code = """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
        open(sys.argv[1], "w").write(str(child.pid))
        print("VOTE: NEEDS WORK")
        print("- [P2] src/hello.py:1 — naming")
    """
    try:
        result = agent([*python(code), str(pid_file)], timeout=60).run(request(tmp_path))
        assert result.status is CallStatus.ANSWERED, result.detail
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), 9)


def test_a_huge_answer_is_refused_and_the_agent_stopped(tmp_path):
    code = """
        import sys
        block = b"a" * (1 << 20)
        for _ in range(1000):
            sys.stdout.buffer.write(block)
    """
    result = agent(python(code), timeout=120).run(request(tmp_path))
    assert result.status is CallStatus.ERROR
    assert result.detail == "answer larger than 10 MB"


def test_reading_a_100_mb_answer_keeps_memory_bounded(tmp_path):
    """Measured in a fresh interpreter: its peak RSS is what the refusal cost."""
    probe = textwrap.dedent(
        f"""
        import json, resource, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_agent_end import agent, python, request
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        code = "import sys\\nfor _ in range(100): sys.stdout.buffer.write(b'a' * (1 << 20))"
        result = agent(python(code), timeout=120).run(request(Path({str(tmp_path)!r})))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"detail": result.detail, "before_kb": before, "after_kb": after}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=180, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["detail"] == "answer larger than 10 MB"
    grown_mb = (got["after_kb"] - got["before_kb"]) / 1024
    assert grown_mb < 60, f"reading the answer grew the process by {grown_mb:.0f} MB"


def test_stderr_keeps_its_end_only(tmp_path):
    code = """
        import sys
        for i in range(40):
            sys.stderr.write("x" * (1 << 20) + "\\n")
        sys.stderr.write("the real reason\\n")
        sys.exit(3)
    """
    done = run_in_group(python(code), tmp_path, ENV, timeout=60)
    assert done.returncode == 3
    assert len(done.stderr) <= 2 * STDERR_TAIL
    assert done.stderr.rstrip().endswith(b"the real reason")


def test_a_large_prompt_on_stdin_reaches_the_program_whole(tmp_path):
    code = """
        import hashlib, sys
        data = sys.stdin.buffer.read()
        print(len(data), hashlib.sha256(data).hexdigest())
    """
    prompt = os.urandom(3 * 1024 * 1024)
    done = run_in_group(python(code), tmp_path, ENV, timeout=60, stdin=prompt)
    import hashlib

    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split() == [str(len(prompt)), hashlib.sha256(prompt).hexdigest()]


def test_a_program_that_ignores_its_stdin_still_answers(tmp_path):
    done = run_in_group(python("print('done')"), tmp_path, ENV, timeout=60, stdin=b"x" * (5 * 1024 * 1024))
    assert done.returncode == 0
    assert done.stdout == b"done\n"


@pytest.mark.parametrize("limit", [10, 1000])
def test_output_past_the_limit_is_dropped_but_the_program_runs_to_its_end(tmp_path, limit):
    code = "import sys; sys.stdout.write('y' * 5000); sys.exit(4)"
    done = run_in_group(python(code), tmp_path, ENV, timeout=60, limit=limit)
    assert done.returncode == 4
    assert done.overflow
    assert done.stdout == b"y" * limit
