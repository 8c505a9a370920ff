"""``devloop``: side commands around ``doit``. User errors are one line and an exit code."""

from __future__ import annotations

import importlib
import sys

import click

from devloop import __version__
from devloop.runtime.errors import DevloopError

# Each command's module: a command imports only its own (`devloop status` never loads the deploy and cache
# commands' modules); `devloop --help` lists them all. tests/test_cli_commands.py checks the table.
COMMANDS = {
    "approve": "gates", "cache": "cache", "claim": "gates", "config": "config_cmd", "cost": "usage",
    "deploy": "deploy", "deployed": "deploy", "doctor": "doctor", "graph": "views", "init": "setup",
    "monitor": "deploy", "new": "setup", "redo": "gates", "report": "views", "rollup": "views", "run": "run",
    "status": "inspect", "why": "inspect",
}  # fmt: skip


class _Commands(click.Group):
    """devloop's commands, each loaded from its module when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        commands = importlib.import_module(f"devloop.cli.{module}").COMMANDS
        return next((c for c in commands if c.name == cmd_name), None)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="devloop")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """devloop turns the multi-agent delivery loop into a Make-style build.

    Run `doit` in a workspace to advance every feature to its next stale
    artifact; these commands create features, explain state and record
    human decisions.

    \b
    Exit codes: 0 ok (also when a step waits for a human), 1 a step failed,
    2 devloop error, 3 bad config / name / arguments, 4 workspace busy.
    """
    ctx.obj = {"debug": debug}


def main() -> None:
    from devloop.runtime import interrupts  # lazy: off the path of a no-op doit and devloop --help

    interrupts.install()
    debug = "--debug" in sys.argv
    try:
        if not {"-h", "--help", "--version"} & set(sys.argv[1:]):
            from devloop.runtime import wslock  # lazy: off the path of a no-op doit and devloop --help

            wslock.refuse_inside_step()
        cli.main(standalone_mode=False)
    except DevloopError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        from devloop.runtime.redact import redact  # lazy: off the path of a no-op doit and devloop --help

        click.echo(f"devloop: error: {redact(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("devloop: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("devloop: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(3 if exc.exit_code == 2 else exc.exit_code)
    except SystemExit:
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
