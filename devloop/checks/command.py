"""Command checks: run a program in the workspace, in its own process group, under a timeout.

The process sees the caller's environment (like local gates and deploy
commands, it may need cloud credentials) plus which feature and deploy it
is checking. On timeout the whole group is killed and the check is an ERROR,
never a FAIL that a lenient expression might let through.
"""

from __future__ import annotations

import os
from typing import Any

from devloop.checks.base import CheckContext, CheckError, capped_text
from devloop.checks.durations import format_duration
from devloop.procs import last_line, run_in_group


def environment(ctx: CheckContext) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVLOOP_")}
    env.update(DEVLOOP_FEATURE=ctx.feature, DEVLOOP_WORKSPACE=str(ctx.workspace.resolve()))
    if ctx.version:
        env["DEVLOOP_VERSION"] = ctx.version
    if ctx.deploy_time:
        env["DEVLOOP_DEPLOY_TIME"] = ctx.deploy_time
    return env


def observe(spec: Any, ctx: CheckContext) -> dict[str, Any]:
    """``exit_code``, ``stdout`` and ``stderr`` (each capped at 1 MB)."""
    try:
        done = run_in_group(list(spec.argv), ctx.workspace, environment(ctx), spec.timeout)
    except OSError as exc:
        raise CheckError(f"command: cannot start {spec.argv[0]!r}: {exc.strerror or exc}") from None
    if done.timed_out:
        tail = last_line(done.stderr) or last_line(done.stdout)
        extra = f"; last output: {tail}" if tail else ""
        raise CheckError(f"command: timeout after {format_duration(spec.timeout)}; process group killed{extra}")
    return {"exit_code": done.returncode, "stdout": capped_text(done.stdout), "stderr": capped_text(done.stderr)}
