"""``devloop rollup``, ``devloop graph``, ``devloop report``: views over the locks and the ledger, never an agent."""

from __future__ import annotations

from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.config.names import check_feature_name
from devloop.config.workspace import Workspace, ensure_state_dir
from devloop.loop.engine import feature_status
from devloop.runtime.atomic import atomic_write_text
from devloop.runtime.errors import UsageError
from devloop.views.graph import PICTURES, draw, open_file, render
from devloop.views.report import write
from devloop.views.rollup import rollup as write_rollup


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

    ws = open_workspace(root)
    cadence = ws.config.rollup
    path, why = write_rollup(ws, force=force, every=cadence.every, monthly=cadence.monthly)
    if path is None:
        click.echo(f"No roll-up due: {why}. (devloop rollup --force writes one anyway.)")
        return
    click.echo(f"Wrote {ws.rel(path)}: {why}.")


@click.command()
@click.argument("feature", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg", "png"]),
    default=None,
    help="mermaid (the default) or dot print text; svg and png draw a picture with Graphviz's dot "
    "(svg is the default with --open).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead (svg/png default: .devloop/graph[-FEATURE].<format> in the workspace).",
)
@click.option("--open", "open_it", is_flag=True, help="Draw the picture and open it with the system's viewer.")
@workspace_option
def graph(feature: str | None, fmt: str | None, output: Path | None, open_it: bool, root: Path | None) -> None:
    """The step graph of FEATURE (default: every feature), each step with its state.

    Stale, failed, waiting and gated steps are coloured; the dashed edge is
    evaluate waiting on a smoke run. Pictures (svg, png, --open) need
    Graphviz's dot on PATH (apt install graphviz, brew install graphviz).
    """

    if fmt is None:
        fmt = "svg" if open_it else "mermaid"
    if open_it and fmt not in PICTURES:
        raise UsageError(f"--open draws a picture: use --format svg or png (or leave --format out), not {fmt}")
    ws = open_workspace(root)
    features = [_feature(ws, feature)] if feature else ws.features()
    rows = {f: feature_status(ws, f) for f in features}
    if fmt not in PICTURES:
        text = render(rows, fmt)
        if output is None:
            click.echo(text, nl=False)
            return

        output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output, text)
        click.echo(f"Wrote {_shown(output)}")
        return
    if output is None:
        output = ensure_state_dir(ws.root) / (f"graph-{feature}.{fmt}" if feature else f"graph.{fmt}")
    draw(render(rows, "dot"), fmt, output)
    click.echo(f"Wrote {_shown(output)}")
    if open_it:
        how = open_file(output)
        if how is None:
            click.echo(f"No program to open it was found (xdg-open, open); open {_shown(output)} yourself.")
        else:
            click.echo(f"Opened it with {how}.")


def _shown(path: Path) -> str:
    """``path`` relative to where the user stands when it is below it, else absolute."""
    full = path.resolve()
    try:
        return full.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(full)


@click.command()
@click.argument("feature")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write (default plans/<f>/report.md)."
)
@workspace_option
def report(feature: str, out: Path | None, root: Path | None) -> None:
    """One markdown page on how FEATURE went: steps, reviews, gates, deploys, smoke runs, costs, artifacts."""

    ws = open_workspace(root)
    path = write(ws, _feature(ws, feature), out)
    try:
        click.echo(ws.rel(path))
    except ValueError:
        click.echo(str(path))


COMMANDS = [rollup, graph, report]
