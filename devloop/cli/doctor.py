"""``devloop doctor``: can every role be played? No model is called unless --probe asks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.runtime.words import count


@click.command()
@click.option(
    "--probe",
    is_flag=True,
    help="Also ask each agent to repeat a random token (costs a call per agent); all at once, under one deadline.",
)
@click.option(
    "--probe-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="The deadline for all probes together.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@workspace_option
def doctor(probe: bool, probe_timeout: float, as_json: bool, root: Path | None) -> None:
    """Check the sandbox and every configured agent (binary, version, API key); say which roles can run.

    With --probe every agent is asked, in parallel, to answer with a random token, and passes only if
    its answer is exactly that token. Exits 1 when a role has no working agent.
    """
    from devloop.config.load import load_config  # lazy: loads pydantic
    from devloop.views.doctor import check_agents, role_report, sandbox_line, sandbox_status  # lazy: loads pydantic

    ws = open_workspace(root)
    checks, took = check_agents(ws, probe, probe_timeout)
    roles = role_report(ws, checks)
    broken = [r for r, _, v in roles if v == "none"]
    shared = [c.text() for c in load_config(ws.root).seat_conflicts()]  # left only when same_seat is warn
    if as_json:
        data = {
            "sandbox": sandbox_status(ws),
            "agents": {n: c.__dict__ for n, c in checks.items()},
            "roles": {r: {"agents": a, "verdict": v} for r, a, v in roles},
            "warnings": shared,
        }
        if probe:
            data["probe"] = {"seconds": round(took, 2), "deadline_s": probe_timeout}
        click.echo(json.dumps(data, indent=2))
    else:
        width = max(len(n) for n in checks)
        click.echo("sandbox:")
        click.echo(f"  {sandbox_line(sandbox_status(ws))}")
        click.echo("agents:")
        for n, c in checks.items():
            mark = "ok  " if c.ok else "FAIL"
            version = f"  [{c.version}]" if c.version else ""
            click.echo(f"  {mark} {n.ljust(width)}  {c.kind:<7} {c.detail}{version}")
        if probe:
            click.echo(f"  probed {count(len(checks), 'agent')} in {took:.1f}s (deadline {probe_timeout:g}s)")
        click.echo("roles:")
        for role, names, verdict in roles:
            click.echo(f"  {verdict:<8} {role:<20} {', '.join(names) or '-'}")
        if shared:
            click.echo("warnings (independence.same_seat: warn):")
            for text in shared:
                click.echo(f"  {text}")
    if broken:
        raise SystemExit(f"devloop: no working agent for: {', '.join(broken)}") from None


COMMANDS = [doctor]
