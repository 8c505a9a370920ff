"""``devloop run``: doit with devloop's workspace options (e.g. waiting for the lock)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.loop import doitrun


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--wait", is_flag=True, help="Wait for another run in this workspace instead of failing fast.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Ask every agent, even for a question the answer cache holds an answer to (answers are still kept).",
)
@workspace_option
@click.argument("doit_args", nargs=-1, type=click.UNPROCESSED)
def run(wait: bool, no_cache: bool, root: Path | None, doit_args: tuple[str, ...]) -> None:
    """Run `doit DOIT_ARGS...` in the workspace (same as plain `doit`).

    `DEVLOOP_NO_CACHE=1 doit` is the same as `--no-cache`.
    """
    from doit.doit_cmd import DoitMain

    ws = open_workspace(root)
    if wait:
        os.environ["DEVLOOP_WAIT"] = "1"
    if no_cache:
        os.environ["DEVLOOP_NO_CACHE"] = "1"
    os.chdir(ws.root)

    doitrun.ARGS = list(doit_args)  # which tasks this command can reach (see tasks.wants_smoke)
    code = DoitMain().run(["-f", str(ws.root / "dodo.py"), *doit_args])
    raise SystemExit(code)


COMMANDS = [run]
