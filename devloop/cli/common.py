"""Helpers shared by the commands: finding the workspace, echoing Next lines."""

from __future__ import annotations

from pathlib import Path

import click

from devloop.workspace import Workspace, find_root

workspace_option = click.option(
    "-C",
    "--workspace",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Workspace folder (default: the nearest one holding devloop.yaml or dodo.py).",
)


def open_workspace(root: Path | None) -> Workspace:
    return Workspace(root if root is not None else find_root(Path.cwd()))
