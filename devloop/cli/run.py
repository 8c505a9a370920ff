"""``devloop run``: doit with devloop's workspace options (e.g. waiting for the lock)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.loop import doitrun


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--wait", is_flag=True, help="Wait for another run in this workspace instead of failing fast.")
@workspace_option
@click.argument("doit_args", nargs=-1, type=click.UNPROCESSED)
def run(wait: bool, root: Path | None, doit_args: tuple[str, ...]) -> None:
    """Run `doit DOIT_ARGS...` in the workspace (same as plain `doit`)."""
    from doit.doit_cmd import DoitMain

    ws = open_workspace(root)
    if wait:
        os.environ["DEVLOOP_WAIT"] = "1"
    os.chdir(ws.root)

    doitrun.ARGS = list(doit_args)  # which tasks this command can reach (see tasks.wants_smoke)
    code = DoitMain().run(["-f", str(ws.root / "dodo.py"), *doit_args])
    raise SystemExit(code)


COMMANDS = [run]
