"""The command table of ``devloop``'s lazy group names every command of every CLI module, and only those."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import devloop.cli
from devloop.cli.main import COMMANDS, cli


def test_the_table_names_every_command_of_every_cli_module_and_where_it_is() -> None:
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(devloop.cli.__path__):
        if info.name == "main":  # the table's own module
            continue
        module = importlib.import_module(f"devloop.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            assert command.name not in found, f"{command.name} is defined twice"
            found[command.name] = info.name
    assert found == COMMANDS


def test_each_name_resolves_to_its_command_and_an_unknown_one_to_none() -> None:
    import click

    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
    assert cli.get_command(ctx, "stauts") is None


def test_a_command_loads_only_its_own_module() -> None:
    code = (
        "import json, sys; from devloop.cli.main import cli; import click; "
        "cli.get_command(click.Context(cli), 'status'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('devloop.cli.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["devloop.cli.common", "devloop.cli.inspect", "devloop.cli.main"]
