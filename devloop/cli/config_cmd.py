"""``devloop config``: the JSON Schema of devloop.yaml, and a validity check."""

from __future__ import annotations

import json
from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.runtime.words import count


@click.group()
def config() -> None:
    """Inspect devloop.yaml."""


@config.command()
def schema() -> None:
    """Print the JSON Schema of devloop.yaml (for editor completion)."""
    from devloop.config.models import Config  # lazy: loads pydantic

    click.echo(json.dumps(Config.model_json_schema(), indent=2))


@config.command()
@workspace_option
def check(root: Path | None) -> None:
    """Validate devloop.yaml; errors name the file and the field."""
    ws = open_workspace(root)
    cfg = ws.model
    click.echo(f"{ws.root / 'devloop.yaml'}: ok ({count(len(cfg.agents), 'agent')})")


COMMANDS = [config]
