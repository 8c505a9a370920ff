"""``devloop status`` and ``devloop why``: read-only views; they never call an agent."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.names import check_feature_name
from devloop.provenance.staleness import LABELS
from devloop.steps.registry import ORDER
from devloop.workspace import Workspace


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def status(as_json: bool, root: Path | None) -> None:
    """A table of features x steps: up to date, stale, waiting, gate, failed."""
    from devloop.engine import feature_status

    ws = open_workspace(root)
    rows = {f: feature_status(ws, f) for f in ws.features()}
    if as_json:
        data = {
            f: {s: {"state": st.state, "reasons": st.reasons} for s, st in steps.items()} for f, steps in rows.items()
        }
        click.echo(json.dumps(data, indent=2))
        return
    if not rows:
        click.echo('No features yet. Next: devloop new <feature> "what you want built"')
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table("feature", *ORDER)
        colors = {"fresh": "green", "failed": "red", "waiting": "yellow", "gate": "yellow", "stale": "cyan"}
        for f, steps in rows.items():
            cells = [f"[{colors.get(st.state, 'white')}]{LABELS[st.state]}[/]" for st in steps.values()]
            table.add_row(f, *cells)
        Console().print(table)
        _open_gates(ws, rows)
        return
    _plain_table(rows)
    _open_gates(ws, rows)


def _open_gates(ws: Workspace, rows: dict[str, Any]) -> None:
    """One line per gate that waits for a human decision."""
    for f in rows:
        for gate, stamp in (ws.read_lock(f).get("gates") or {}).items():
            if stamp.get("pending"):
                click.echo(f"Waiting for approval: devloop approve {f} {gate}  ({stamp.get('detail', '')})")


def _plain_table(rows: dict[str, Any]) -> None:
    width = max(len("feature"), *(len(f) for f in rows))
    click.echo("  ".join(["feature".ljust(width), *(s.ljust(11) for s in ORDER)]).rstrip())
    for f, steps in rows.items():
        click.echo("  ".join([f.ljust(width), *(LABELS[st.state].ljust(11) for st in steps.values())]).rstrip())


@click.command()
@click.argument("feature")
@workspace_option
def why(feature: str, root: Path | None) -> None:
    """Say, for each step of FEATURE that is not up to date, exactly why."""
    from devloop.engine import feature_status

    check_feature_name(feature)
    ws = open_workspace(root)
    if feature not in ws.features():
        from devloop.errors import UsageError

        raise UsageError(f"no feature {feature!r} in {ws.root} (plans/{feature}/brief.md is missing)")
    for step, st in feature_status(ws, feature).items():
        if st.fresh:
            click.echo(f"{step}: up to date")
        else:
            click.echo(f"{step}: {LABELS[st.state]}")
            for reason in st.reasons:
                click.echo(f"  - {reason}")


COMMANDS = [status, why]
