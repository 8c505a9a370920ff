"""``devloop deployed``, ``devloop deploy`` and ``devloop monitor``: the loop after the code is merged."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from devloop.after_deploy.deploys import commands, run_configured, stamp
from devloop.after_deploy.runs import new_run_dir
from devloop.cli.common import open_workspace, workspace_option
from devloop.config.names import check_feature_name
from devloop.config.workspace import Workspace
from devloop.loop import monitoring
from devloop.loop.engine import feature_status
from devloop.runtime import wslock
from devloop.runtime.errors import UsageError


def _locked(root: Path | None, feature: str) -> Workspace:
    """The workspace of an existing FEATURE, with the workspace lock held."""

    ws = open_workspace(root)
    _feature(ws, feature)
    wslock.acquire(ws.ensure_state_dir())
    return ws


def _not_passed(ws: Workspace, feature: str) -> str | None:
    """Why the loop has not passed the current code for a deploy (code review, deploy review), or None."""

    status = feature_status(ws, feature)
    for step in ("code_review", "deploy_review"):
        st = status[step]
        if not st.fresh:
            why = "; ".join(st.reasons)
            return f"{step}:{feature} has not passed the current code ({st.state}: {why})"
    return None


def _ready(ws: Workspace, feature: str, force: bool) -> str | None:
    """Refuse a deploy of code the loop has not passed, unless forced (then say why, for the stamp)."""
    why = _not_passed(ws, feature)
    if why and not force:
        raise UsageError(f"{why}. Run doit until it passes, or record the deploy anyway with --force")
    return why


def _record(ws: Workspace, feature: str, version: str | None, by: str | None, forced: str | None) -> dict[str, Any]:
    lock = ws.read_lock(feature)
    new = stamp(lock, version, by, forced)
    ws.write_lock(feature, lock)
    return new


def _feature(ws: Workspace, feature: str) -> None:
    check_feature_name(feature)
    if feature not in ws.features():
        raise UsageError(f"no feature {feature!r} in {ws.root}")


@click.command()
@click.argument("feature")
@click.option("--version", "version", default=None, help="What was deployed (a tag, image digest, revision).")
@click.option("--by", default=None, help="Who deployed (default: the current user).")
@click.option("--force", is_flag=True, help="Record it although the code review has not passed (recorded as such).")
@workspace_option
def deployed(feature: str, version: str | None, by: str | None, force: bool, root: Path | None) -> None:
    """Record that FEATURE was deployed; the next `doit smoke` verifies that deploy.

    Refused (exit 3) while the code review or deploy review of the current
    code has not passed; --force records the deploy anyway, with the reason.
    """
    ws = _locked(root, feature)
    forced = _ready(ws, feature, force)
    new = _record(ws, feature, version, by, forced)
    note = f" Recorded as forced: {forced}." if forced else ""
    click.echo(f"Recorded deploy #{new['id']} of {feature} (version {version or 'unspecified'}).{note}")
    click.echo(f"Next: doit smoke:{feature}")


@click.command()
@click.argument("feature")
@click.option("--version", "version", default=None, help="Recorded with the deploy stamp.")
@click.option("--force", is_flag=True, help="Deploy although the code review has not passed (recorded as such).")
@workspace_option
def deploy(feature: str, version: str | None, force: bool, root: Path | None) -> None:
    """Run the configured deploy command for FEATURE, then record the deploy.

    Refused (exit 3) while the code review or deploy review of the current
    code has not passed, unless --force.
    """

    ws = _locked(root, feature)
    forced = _ready(ws, feature, force)
    cfg = commands(ws, feature)
    log = ws.root / new_run_dir(ws, feature) / "deploy.log"
    run_configured(ws, feature, cfg.command, "command", log, cfg.timeout)
    new = _record(ws, feature, version, None, forced)
    click.echo(f"Deployed {feature} (deploy #{new['id']}); log: {ws.rel(log)}")
    click.echo(f"Next: doit smoke:{feature}")


@click.command()
@click.argument("feature")
@click.option("--duration", default=None, help="Override the window, e.g. 30m (default: validation.md monitoring).")
@click.option("--interval", default=None, help="Override the interval, e.g. 1m.")
@workspace_option
def monitor(feature: str, duration: str | None, interval: str | None, root: Path | None) -> None:
    """Watch FEATURE's rollback triggers for the monitoring window after a passing smoke run.

    Each evaluation is printed and logged. A trigger that fires runs the
    configured rollback command first, then asks triage where to go back to.
    Ctrl-C stops watching; nothing is rolled back for it.
    """

    ws = open_workspace(root)
    _feature(ws, feature)
    try:
        result, fired = monitoring.watch(ws, feature, duration, interval, echo=click.echo, sleep=time.sleep)
    except KeyboardInterrupt:
        click.echo("Stopped watching (Ctrl-C); no rollback was run.")
        raise SystemExit(130) from None
    except monitoring.MonitorBlind as blind:
        click.echo(
            f"{blind}\nNext: fix what the ERROR lines say (credentials, endpoint, timeout), "
            f"then devloop monitor {feature}"
        )
        raise SystemExit(2) from None
    click.echo(result)
    if fired:
        raise SystemExit(1)


COMMANDS = [deployed, deploy, monitor]
