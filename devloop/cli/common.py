"""Helpers shared by the commands: finding the workspace, echoing Next lines."""

from __future__ import annotations

from pathlib import Path

import click

from devloop.config.workspace import Workspace, find_root

workspace_option = click.option(
    "-C",
    "--workspace",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Workspace folder (default: the nearest one holding devloop.yaml or dodo.py).",
)


def open_workspace(root: Path | None) -> Workspace:
    """The workspace at ``-C root`` or around the current folder (any subfolder of it works)."""
    return Workspace(find_root(root if root is not None else Path.cwd()))
