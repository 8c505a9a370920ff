"""``devloop init`` and ``devloop new``: create a workspace and a feature."""

from __future__ import annotations

from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.config.names import check_feature_name
from devloop.config.workspace import CONFIG_FILE, packaged_templates_dir
from devloop.runtime import gitsafe
from devloop.runtime.atomic import atomic_write_text
from devloop.runtime.errors import UsageError

DODO = '''"""devloop workspace: `doit` advances every feature through the loop."""
from devloop.tasks import setup

setup(globals())
'''


APPEND = """
# devloop: the development loop's tasks (keep this after your own DOIT_CONFIG)
from devloop.tasks import setup as devloop_setup  # noqa: E402

devloop_setup(globals())
"""


@click.command()
@click.option(
    "--print", "print_only", is_flag=True, help="With an existing dodo.py: print the lines to add, change nothing."
)
@workspace_option
def init(print_only: bool, root: Path | None) -> None:
    """Make this repository a devloop workspace (writes devloop.yaml, and dodo.py or two lines in yours).

    An existing dodo.py keeps its tasks: the lines that load devloop's are
    appended (or, with --print, printed for you to place). Refuses to
    overwrite devloop.yaml. State that must not reach git (doit's database,
    prompts for humans) goes to .devloop/, which ignores itself.
    """
    folder = (root or Path.cwd()).resolve()
    targets = [folder / "dodo.py", folder / CONFIG_FILE]
    if targets[1].exists():
        raise UsageError(f"{CONFIG_FILE} already exists in {folder}; nothing was written")
    if targets[0].exists():
        _adopt(folder, targets[0], targets[1], print_only)
        return

    probe = gitsafe.run(folder, ["rev-parse", "--is-inside-work-tree"], timeout=30)
    inside_git = probe is not None and probe.returncode == 0
    if print_only:
        raise UsageError("--print is for a repository that already has a dodo.py; here init writes one")
    atomic_write_text(targets[1], (packaged_templates_dir() / "devloop.yaml").read_text(encoding="utf-8"))
    atomic_write_text(targets[0], DODO)
    click.echo(f"Wrote {targets[0].name} and {targets[1].name} in {folder}")
    _ignore_bytecode(folder)
    if not inside_git:
        click.echo("Note: this folder is not a git repository; devloop's lock files are meant to be committed.")
    click.echo('Next: devloop new <feature> "what you want built"')


def _ignore_bytecode(folder: Path) -> None:
    """doit imports dodo.py, which leaves __pycache__/ behind: keep it out of git (and out of CI commits)."""
    ignore = folder / ".gitignore"
    text = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    if any(line.strip() in ("__pycache__/", "__pycache__", "*.pyc", "*.py[cod]") for line in text.splitlines()):
        return
    atomic_write_text(ignore, text + ("" if not text or text.endswith("\n") else "\n") + "__pycache__/\n")
    click.echo("Added __pycache__/ to .gitignore (doit leaves it next to dodo.py)")


def _adopt(folder: Path, dodo: Path, config: Path, print_only: bool) -> None:
    """A doit project adopts devloop: its dodo.py gains the two lines that load the loop's tasks."""
    text = dodo.read_text(encoding="utf-8")
    loaded = "devloop.loop.tasks import setup" in text
    atomic_write_text(config, (packaged_templates_dir() / "devloop.yaml").read_text(encoding="utf-8"))
    if print_only and not loaded:
        click.echo(f"Wrote {config.name}. Add these lines at the end of {dodo} (after your DOIT_CONFIG):\n{APPEND}")
        return
    _ignore_bytecode(folder)
    if loaded:
        click.echo(f"Wrote {config.name}; {dodo.name} already loads devloop's tasks")
    else:
        atomic_write_text(dodo, text.rstrip("\n") + "\n" + APPEND)
        click.echo(f"Wrote {config.name} and added devloop's tasks to {dodo.name} (your tasks are kept)")
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
