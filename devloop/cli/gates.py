"""``devloop approve``, ``redo`` and ``claim``: the human decisions the loop waits for."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.config.names import check_feature_name
from devloop.loop.engine import approve as stamp
from devloop.loop.engine import drifted as find_drifted
from devloop.loop.engine import force
from devloop.runtime.errors import UsageError
from devloop.steps.order import check_step
from devloop.steps.person import claim as record


@click.command()
@click.argument("feature")
@click.argument("gate")
@workspace_option
def approve(feature: str, gate: str, root: Path | None) -> None:
    """Approve a waiting GATE of FEATURE as it stands now.

    Gates: plan, red-team, code-review, deploy, smoke. The stamp holds the
    hashes of what you approved: if those files change, the gate closes again.
    Refused (exit 3) when the gate is not waiting, or when what it shows
    changed since it opened (run doit first).
    """

    check_feature_name(feature)
    ws = open_workspace(root)
    if feature not in ws.features():
        raise UsageError(f"no feature {feature!r} in {ws.root}")
    stamp(ws, feature, gate, getpass.getuser())
    click.echo(f"Approved {feature} {gate}.")
    click.echo("Next: doit")


@click.command()
@click.argument("feature")
@click.argument("step", required=False)
@click.option("--drifted", is_flag=True, help="Every step of FEATURE that ran with other agents or templates.")
@click.option(
    "--fresh",
    is_flag=True,
    help="With implement: start the feature's change over from the commit checked out now "
    "(forget the files earlier implementations touched).",
)
@workspace_option
def redo(feature: str, step: str | None, drifted: bool, fresh: bool, root: Path | None) -> None:
    """Regenerate STEP of FEATURE on the next `doit`, even over a hand edit.

    The next run opens one new attempt of the step (its current outputs are
    archived under plans/FEATURE/.history/ first); waits and gates inside
    that attempt keep its answers. With --drifted, every step whose agents,
    prompt template or policy changed since it ran (`devloop status` shows
    them as drifted; a plain doit leaves them as they are).

    A feature's change is every file any implementation or fix round of it
    touched, diffed against the commit its first implementation started
    from. `devloop redo FEATURE implement --fresh` starts it over: the new
    implementation's files only, against the commit checked out now.
    """

    check_feature_name(feature)
    if drifted == bool(step):
        raise UsageError("name one STEP, or pass --drifted (not both)")
    ws = open_workspace(root)
    if feature not in ws.features():
        raise UsageError(f"no feature {feature!r} in {ws.root}")
    if fresh and step != "implement":
        raise UsageError("--fresh starts a feature's change over: it goes with the implement step only")
    steps = [check_step(step)] if step else find_drifted(ws, feature)
    if not steps:
        click.echo(f"No step of {feature} is drifted; nothing to redo.")
        return
    by, reason = ("redo", "devloop redo") if step else ("drifted", "devloop redo --drifted")
    for name in steps:
        force(ws, feature, name, by, reason, seed={"fresh": True} if fresh else None)
    click.echo(f"{', '.join(f'{s}:{feature}' for s in steps)} will be regenerated. Next: doit")


@click.command()
@click.argument("feature")
@click.argument("paths", nargs=-1, required=True)
@workspace_option
def claim(feature: str, paths: tuple[str, ...], root: Path | None) -> None:
    """Say that PATHS are FEATURE's work, when you implement several features at once.

    A file you change while two features wait for your implementation
    counts for one of them only: the one that claims it, else the one whose
    `paths:` select it; when neither tells, `doit` stops and asks for this.
    PATHS are relative to the current folder. The claims last until the
    feature's implementation is taken.
    """

    check_feature_name(feature)
    ws = open_workspace(root)
    if feature not in ws.features():
        raise UsageError(f"no feature {feature!r} in {ws.root}")
    rels = []
    for p in paths:
        full = Path(os.path.normpath(os.path.join(os.path.realpath(os.getcwd()), p)))
        try:
            rel = full.relative_to(ws.root).as_posix()
        except ValueError:
            raise UsageError(f"{p} is outside the workspace {ws.root}") from None
        if rel.startswith(("plans/", ".git/", ".devloop/", "runs/")) or rel in (".", ""):
            raise UsageError(f"{p} is not code a feature can claim")
        rels.append(rel)
    record(ws, feature, rels)
    click.echo(f"{', '.join(rels)} counted as {feature}'s work. Next: doit")


COMMANDS = [approve, redo, claim]
