"""``devloop cost``: what the agent calls of this workspace took, from runs/ledger.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.provenance import ledger
from devloop.provenance.costs import totals


@click.command()
@click.option(
    "--by",
    type=click.Choice(["feature", "step", "agent", "model", "all"]),
    default="feature",
    show_default=True,
    help="How to group the calls.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def cost(by: str, as_json: bool, root: Path | None) -> None:
    """Calls, agent time, tokens and cost per feature (or step, agent, model).

    Cost a provider did not report is shown as unknown, never as $0. Answers a person gave (the
    manual agent) count as calls, and their time (prompt written to answer saved) as a person's time.
    Answers restored from the answer cache are not calls: they are counted apart, with what the
    original calls took (time and cost) as saved.
    """
    ws = open_workspace(root)
    entries = ledger.read(ws.root)
    groups = totals(entries, by)
    if as_json:
        click.echo(json.dumps({k: t.as_dict() for k, t in groups.items()}, indent=2))
        return
    if not entries:
        click.echo("No agent calls recorded yet (runs/ledger.jsonl is empty).")
        return
    grand = totals(entries, "all")["all"]
    rows = [(k, t) for k, t in groups.items()] + ([("TOTAL", grand)] if by != "all" else [])
    width = max(len(by), *(len(k) for k, _ in rows))
    people = grand.person_calls > 0
    person_head = "  person time" if people else ""
    restores = grand.restored > 0
    cost_head = "cost".ljust(max(len(t.cost_text()) for _, t in rows)) if restores else "cost"
    saved_head = "  restored  saved time  saved cost" if restores else ""
    click.echo(
        f"{by.ljust(width)}  calls  failed  agent time{person_head}   tokens in  tokens out  {cost_head}{saved_head}"
    )
    for key, t in rows:
        tokens_in = f"{t.tokens_in:>9}" if t.unknown_tokens < t.calls else "  unknown"
        tokens_out = f"{t.tokens_out:>10}" if t.unknown_tokens < t.calls else "   unknown"
        counts = f"{t.calls:>5}  {t.failed:>6}  {t.seconds:>9.1f}s"
        if people:
            counts += f"  {t.person_seconds:>10.1f}s"
        spent = t.cost_text().ljust(len(cost_head)) if restores else t.cost_text()
        line = f"{key.ljust(width)}  {counts}  {tokens_in}  {tokens_out}  {spent}"
        if restores:
            line += f"  {t.restored:>8}  {t.saved_seconds:>9.1f}s  {t.saved_text()}"
        click.echo(line)


COMMANDS = [cost]
