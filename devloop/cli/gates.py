"""``devloop approve`` and ``devloop redo``: the human decisions the loop waits for."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from devloop.cli.common import open_workspace, workspace_option
from devloop.errors import UsageError
from devloop.names import check_feature_name
from devloop.provenance.hashing import hash_file
from devloop.provenance.lockfile import now_iso
from devloop.steps.registry import check_step


@click.command()
@click.argument("feature")
@click.argument("gate")
@workspace_option
def approve(feature: str, gate: str, root: Path | None) -> None:
    """Approve a waiting GATE of FEATURE as it stands now.

    Gates: plan, red-team, code-review, deploy, smoke. The stamp holds the
    hashes of what you approved: if those files change, the gate closes again.
    """
    from devloop import wslock

    check_feature_name(feature)
    ws = open_workspace(root)
    wslock.acquire(ws.ensure_state_dir())
    lock = ws.read_lock(feature)
    stamp = lock["gates"].get(gate)
    if not stamp or not stamp.get("pending"):
        open_gates = [g for g, s in lock["gates"].items() if s.get("pending")]
        hint = f"; open gates: {', '.join(open_gates)}" if open_gates else "; no gate is waiting"
        raise UsageError(f"gate {gate!r} of {feature} is not waiting for approval{hint}")
    changed = [p for p, h in stamp["subject"].items() if hash_file(ws.root / p) != h]
    if changed:
        raise UsageError(f"{', '.join(changed)} changed since the gate opened; run doit first")
    lock["gates"][gate] = {"subject": stamp["subject"], "by": getpass.getuser(), "at": now_iso()}
    ws.write_lock(feature, lock)
    click.echo(f"Approved {feature} {gate}.")
    click.echo("Next: doit")


@click.command()
@click.argument("feature")
@click.argument("step")
@workspace_option
def redo(feature: str, step: str, root: Path | None) -> None:
    """Regenerate STEP of FEATURE on the next `doit`, even over a hand edit.

    The current outputs are archived under plans/FEATURE/.history/ first.
    """
    from devloop.engine import redo as mark

    check_feature_name(feature)
    check_step(step)
    ws = open_workspace(root)
    if feature not in ws.features():
        raise UsageError(f"no feature {feature!r} in {ws.root}")
    mark(ws, feature, step)
    click.echo(f"{feature}:{step} will be regenerated. Next: doit")


COMMANDS = [approve, redo]
