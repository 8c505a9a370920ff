"""Command checks: run a program in the workspace, in its own process group, under a timeout.

The process runs confined to a read-only workspace (see :mod:`devloop.confine`)
with the user's rights, and sees only an allow-listed
environment (PATH, HOME, the locale, and the names in devloop.yaml's
``steps.smoke.env_allow``, e.g. cloud credentials) plus which feature and
deploy it is checking. On timeout the whole group is killed and the check is an ERROR,
never a FAIL that a lenient expression might let through.
"""

from __future__ import annotations

from typing import Any

from devloop.after_deploy.checks.base import CheckContext, CheckError, capped_text
from devloop.confine import watch
from devloop.runtime.durations import format_duration
from devloop.runtime.envs import allow_listed
from devloop.runtime.procs import last_line


def environment(ctx: CheckContext) -> dict[str, str]:
    """Allow-listed like an agent's: a check comes from validation.md, which an agent wrote."""

    env = allow_listed(ctx.env_allow)
    env.update(DEVLOOP_FEATURE=ctx.feature, DEVLOOP_WORKSPACE=str(ctx.workspace.resolve()))
    if ctx.version:
        env["DEVLOOP_VERSION"] = ctx.version
    if ctx.deploy_time:
        env["DEVLOOP_DEPLOY_TIME"] = ctx.deploy_time
    return env


def observe(spec: Any, ctx: CheckContext) -> dict[str, Any]:
    """``exit_code``, ``stdout`` and ``stderr`` (each capped at 1 MB)."""

    try:
        box = ctx.confine() if ctx.confine is not None else None
        done, seen = watch.run(box, list(spec.argv), ctx.workspace, environment(ctx), spec.timeout)
    except watch.SandboxUnavailable as exc:
        raise CheckError(f"command: {exc}") from None
    except OSError as exc:
        raise CheckError(f"command: cannot start {spec.argv[0]!r}: {exc.strerror or exc}") from None
    if seen.refused:
        raise CheckError(f"command: {seen.why('the check')}")
    if done.timed_out:
        tail = last_line(done.stderr) or last_line(done.stdout)
        extra = f"; last output: {tail}" if tail else ""
        raise CheckError(f"command: timeout after {format_duration(spec.timeout)}; process group killed{extra}")
    return {"exit_code": done.returncode, "stdout": capped_text(done.stdout), "stderr": capped_text(done.stderr)}
