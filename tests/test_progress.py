"""Progress while an agent runs: a live line on a terminal, one plain line otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

SCRIPT = (
    "import time\nfrom devloop.runtime.progress import agent_progress\n"
    "with agent_progress('plan:demo plan -> codex (gpt-x)'):\n    time.sleep(1.2)\n"
)


def test_a_terminal_sees_the_step_agent_and_elapsed_time() -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stderr=follower, stdout=follower)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=20)
    out = b"".join(chunks).decode()
    assert "\r| plan:demo plan -> codex (gpt-x) (0m00s)" in out or "plan:demo plan -> codex (gpt-x) (0m0" in out
    assert out.count("\r") >= 3  # redrawn in place, not one line per tick
    assert out.endswith("\r\x1b[K")  # and cleared when the call returns


def test_a_pipe_gets_one_plain_line() -> None:
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30)
    assert r.stderr == "... plan:demo plan -> codex (gpt-x)\n"
