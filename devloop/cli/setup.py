"""``devloop init`` and ``devloop new``: create a workspace and a feature."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from devloop.atomic import atomic_write_text
from devloop.cli.common import open_workspace, workspace_option
from devloop.errors import UsageError
from devloop.names import check_feature_name
from devloop.workspace import CONFIG_FILE, packaged_templates_dir

DODO = '''"""devloop workspace: `doit` advances every feature through the loop."""
from devloop.tasks import setup

setup(globals())
'''


@click.command()
@workspace_option
def init(root: Path | None) -> None:
    """Make this repository a devloop workspace (writes dodo.py and devloop.yaml).

    Refuses to overwrite either file. State that must not reach git (doit's
    database, prompts for humans) goes to .devloop/, which ignores itself.
    """
    folder = (root or Path.cwd()).resolve()
    targets = [folder / "dodo.py", folder / CONFIG_FILE]
    existing = [p.name for p in targets if p.exists()]
    if existing:
        raise UsageError(f"{', '.join(existing)} already exist(s) in {folder}; nothing was written")
    inside_git = (
        subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=folder, capture_output=True, text=True
        ).returncode
        == 0
    )
    atomic_write_text(targets[1], (packaged_templates_dir() / "devloop.yaml").read_text(encoding="utf-8"))
    atomic_write_text(targets[0], DODO)
    click.echo(f"Wrote {targets[0].name} and {targets[1].name} in {folder}")
    if not inside_git:
        click.echo("Note: this folder is not a git repository; devloop's lock files are meant to be committed.")
    click.echo('Next: devloop new <feature> "what you want built"')


@click.command()
@click.argument("feature")
@click.argument("request", required=False)
@click.option(
    "--brief-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the brief from a file."
)
@workspace_option
def new(feature: str, request: str | None, brief_file: Path | None, root: Path | None) -> None:
    """Start FEATURE (kebab-case) with a one-line REQUEST or a --brief-file.

    Writes plans/FEATURE/brief.md; the next `doit` starts planning it.
    """
    check_feature_name(feature)
    if (request is None) == (brief_file is None):
        raise UsageError("give either a one-line REQUEST or --brief-file, not both or neither")
    text = brief_file.read_text(encoding="utf-8") if brief_file else f"# {feature}\n\n{request}\n"
    if not text.strip():
        raise UsageError("the brief is empty")
    ws = open_workspace(root)
    brief = ws.feature_dir(feature) / "brief.md"
    if brief.exists():
        raise UsageError(f"feature {feature!r} already exists ({ws.rel(brief)}); edit its brief instead")
    atomic_write_text(brief, text)
    click.echo(f"Wrote {ws.rel(brief)}")
    click.echo("Next: doit   (plans the feature with the planner role's agent)")


COMMANDS = [init, new]
