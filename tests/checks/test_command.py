"""Command checks: real processes in the workspace, in their own process group."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from devloop.after_deploy.checks import CheckContext, run_checks
from tests.checks.helpers import block


def one(item: str, ctx: CheckContext):
    [result] = run_checks(block("smoke:\n" + item).smoke, ctx)
    return result


def test_exit_code_and_output_in_the_workspace(make_ctx: Callable[..., CheckContext], tmp_path: Path) -> None:
    script = "import os; print(os.getcwd()); print(os.environ['DEVLOOP_FEATURE'], os.environ['DEVLOOP_VERSION'])"
    ctx = make_ctx()
    r = one(
        f"  - name: ready\n    command: {{argv: ['{sys.executable}', -c, \"{script}\"]}}\n"
        "    expect: exit_code == 0 and 'search v42' in stdout\n",
        ctx,
    )
    assert r.outcome == "PASS", r.line()
    assert r.actual["stdout"].splitlines()[0] == str(tmp_path.resolve())
    assert r.line().startswith("PASS ready (command) exit_code == 0 and 'search v42' in stdout | actual: exit_code=0, ")


def test_a_non_zero_exit_fails_and_shows_stderr(make_ctx: Callable[..., CheckContext]) -> None:
    r = one(
        f"  - name: broken\n    command: {{argv: ['{sys.executable}', -c, 'import sys; sys.exit(\"nope\")']}}\n"
        "    expect: exit_code == 0\n",
        make_ctx(),
    )
    assert (r.outcome, r.actual["exit_code"], r.actual["stderr"]) == ("FAIL", 1, "nope\n")


def test_a_relative_program_runs_from_the_workspace(make_ctx: Callable[..., CheckContext], tmp_path: Path) -> None:
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\necho fine\n")
    script.chmod(0o755)
    r = one("  - name: local\n    command: {argv: [./check.sh]}\n    expect: stdout == 'fine\\n'\n", make_ctx())
    assert r.outcome == "PASS", r.line()


def test_a_missing_program_is_an_error(make_ctx: Callable[..., CheckContext]) -> None:
    r = one("  - name: ghost\n    command: {argv: [./no-such-program]}\n    expect: exit_code != 0\n", make_ctx())
    assert r.outcome == "ERROR" and r.detail.startswith("command: cannot start './no-such-program'")


def test_a_timeout_kills_the_whole_group_and_is_an_error(make_ctx: Callable[..., CheckContext], tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 30 & echo $! > {pid_file}; echo started; wait"
    r = one(
        f"  - name: hangs\n    command: {{argv: [sh, -c, '{script}'], timeout: 500ms}}\n    expect: exit_code != 0\n",
        make_ctx(),
    )
    assert r.outcome == "ERROR", r.line()
    assert r.detail == "command: timeout after 500ms; process group killed; last output: started"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())  # a zombie is dead, just not reaped
