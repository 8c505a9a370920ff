"""``devloop rollup``, ``devloop graph``, ``devloop report``: views over the locks and the ledger, never an agent."""

from __future__ import annotations

from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.errors import UsageError
from devloop.names import check_feature_name
from devloop.workspace import Workspace


def _feature(ws: Workspace, feature: str) -> str:
    check_feature_name(feature)
    if feature not in ws.features():
        raise UsageError(f"no feature {feature!r} in {ws.root} (plans/{feature}/brief.md is missing)")
    return feature


@click.command()
@click.option("--force", is_flag=True, help="Write a roll-up even when none is due.")
@workspace_option
def rollup(force: bool, root: Path | None) -> None:
    """Roll up every evaluation into runs/rollup-<YYYYMM>.md (+ a PNG chart).

    Due after rollup.every (10) new evaluations or, with rollup.monthly, when
    the month changed since the last roll-up; suggestions seen in two or more evaluations become proposed
    changes to the loop, at the top of the file.
    """
    from devloop.rollup import rollup as write_rollup

    ws = open_workspace(root)
    cadence = ws.config.rollup
    path, why = write_rollup(ws, force=force, every=cadence.every, monthly=cadence.monthly)
    if path is None:
        click.echo(f"No roll-up due: {why}. (devloop rollup --force writes one anyway.)")
        return
    click.echo(f"Wrote {ws.rel(path)}: {why}.")


@click.command()
@click.argument("feature", required=False)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@workspace_option
def graph(feature: str | None, fmt: str, root: Path | None) -> None:
    """The step graph of FEATURE (default: every feature), each step with its state.

    Stale, failed, waiting and gated steps are coloured; the dashed edge is
    evaluate waiting on a smoke run.
    """
    from devloop.engine import feature_status
    from devloop.graph import render

    ws = open_workspace(root)
    features = [_feature(ws, feature)] if feature else ws.features()
    click.echo(render({f: feature_status(ws, f) for f in features}, fmt), nl=False)


@click.command()
@click.argument("feature")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write (default plans/<f>/report.md)."
)
@workspace_option
def report(feature: str, out: Path | None, root: Path | None) -> None:
    """One markdown page on how FEATURE went: steps, reviews, gates, deploys, smoke runs, costs, artifacts."""
    from devloop.report import write

    ws = open_workspace(root)
    path = write(ws, _feature(ws, feature), out)
    try:
        click.echo(ws.rel(path))
    except ValueError:
        click.echo(str(path))


COMMANDS = [rollup, graph, report]
