"""``devloop status`` and ``devloop why``: read-only views; they never call an agent."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.config.names import check_feature_name
from devloop.config.workspace import Workspace
from devloop.loop.advice import next_action
from devloop.loop.engine import RESTORED, feature_status, feature_view, with_restores
from devloop.provenance.staleness import LABELS, Status
from devloop.runtime.errors import UsageError
from devloop.steps.order import ORDER


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def status(as_json: bool, root: Path | None) -> None:
    """A table of features x steps: up to date, stale, waiting, gate, failed."""
    ws = open_workspace(root)
    views = {f: _view(ws, f) for f in ws.features()}
    ws.views.save()
    ws.verdicts.save()
    rows = {f: steps for f, (steps, _) in views.items()}
    nexts = {f: nxt for f, (_, nxt) in views.items()}
    if as_json:
        data = {
            f: {
                **{s: {"state": st.state, "label": LABELS[st.state], "reasons": st.reasons} for s, st in steps.items()},
                "next": nexts[f],
            }
            for f, steps in rows.items()
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
        colors = {
            "fresh": "green",
            "drifted": "green",
            "failed": "red",
            "interrupted": "red",
            "waiting": "yellow",
            "gate": "yellow",
            "stale": "cyan",
            "forced": "cyan",
        }
        for f, steps in rows.items():
            cells = [f"[{colors.get(st.state, 'white')}]{LABELS[st.state]}[/]" for st in steps.values()]
            table.add_row(f, *cells)
        Console().print(table)
    else:
        _plain_table(rows)
    _print_restored(rows)
    _print_next(nexts)


def _print_restored(rows: dict[str, dict[str, Status]]) -> None:
    """Which up-to-date steps got their answers from the answer cache rather than from an agent."""
    for f, steps in rows.items():
        restored = [s for s, st in steps.items() if st.fresh and any(r.startswith(RESTORED) for r in st.reasons)]
        if restored:
            click.echo(f"{f}: {', '.join(restored)} {RESTORED} (no agent asked)")


def _view(ws: Workspace, feature: str) -> tuple[dict[str, Status], str]:
    """A feature's row and next command: from the verdict memo when nothing changed, else judged anew."""
    hit = ws.views.get(f"{feature}:status")
    if hit is not None:
        return {s: Status(v[0], list(v[1])) for s, v in hit[0].items()}, hit[1]

    return feature_view(ws, feature)


def _next(ws: Workspace, feature: str, steps: dict[str, Any]) -> str:
    return next_action(ws, feature, steps, ws.read_lock_shared(feature))


def _print_next(nexts: dict[str, str]) -> None:
    """What to type next, per feature that has something to do: each line works as printed."""
    todo = {f: n for f, n in nexts.items() if n}
    if not todo:
        return
    click.echo("Next:")
    for f, n in todo.items():
        click.echo(f"  {f}: {n}")


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

    check_feature_name(feature)
    ws = open_workspace(root)
    if feature not in ws.features():
        raise UsageError(f"no feature {feature!r} in {ws.root} (plans/{feature}/brief.md is missing)")
    lock = ws.read_lock_shared(feature)
    steps = with_restores(feature_status(ws, feature, lock), lock)
    for step, st in steps.items():
        if st.state == "fresh":
            click.echo(f"{step}: up to date" + "".join(f" ({r})" for r in st.reasons if r.startswith(RESTORED)))
        else:
            click.echo(f"{step}: {LABELS[st.state]}")
            for reason in st.reasons:
                click.echo(f"  - {reason}")
    nxt = _next(ws, feature, steps)
    if nxt:
        click.echo(f"Next: {nxt}")


COMMANDS = [status, why]
