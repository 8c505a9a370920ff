"""Step 4: the implementer writes code, deviations.md and the smoke script, then local gates run."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from devloop.config.workspace import Workspace
from devloop.provenance.state import FeatureLock
from devloop.runtime import gitsafe
from devloop.steps.base import Done, Step
from devloop.steps.change import code_files
from devloop.steps.gates import run_gates
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun

NO_DEVIATIONS = "No deviations."


class ImplementStep(Step):
    name = "implement"
    roles = ("implementer", "implementer_rotation")
    templates = ("implement.md.j2", "gate_fix.md.j2")
    policy = "implement"

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        return [f"plans/{feature}/plan.md", f"plans/{feature}/validation.md"]

    def declared_outputs(self, ws: Workspace, feature: str) -> list[str]:
        return [f"plans/{feature}/deviations.md", f"scripts/smoke/{feature}.sh"]

    def run(self, run: StepRun) -> Done:
        ws, f = run.ws, run.feature
        deviations, smoke = self.declared_outputs(ws, f)
        prompt = render(
            ws,
            "implement.md.j2",
            feature=f,
            plan=read_text(ws, f"plans/{f}/plan.md"),
            validation=read_text(ws, f"plans/{f}/validation.md"),
            deviations_path=deviations,
            smoke_path=smoke,
            paths=(ws.config.features.get(f) or {}).get("paths") or [],
            no_deviations=NO_DEVIATIONS,
            triage=run.triage_note(),
        )
        carried, carried_deleted = _carried(run)
        base = run.scratch["base_commit"]
        rotation = tuple(ws.config.roles.implementer_rotation)
        changed = run.author(
            "implement",
            "implementer",
            prompt,
            [deviations, smoke],
            fallbacks=rotation,
            watch=code_files(ws, f, run.lock),
        )
        who = (run.memo("implement") or {}).get("data") or {}
        note = _make_executable(ws, smoke)
        if note:
            run.register(smoke)
        gates = run_gates(run)
        changed, deleted, gates = self._retry_gates(run, changed, list(who.get("deleted") or []), gates)
        deleted = sorted((set(carried_deleted) | set(deleted)) - set(changed))
        kept = [p for p in carried if p not in deleted and (ws.root / p).is_file()]
        for p in kept:
            run.register(p)
        outputs = sorted(set(changed) | set(kept) | {deviations, smoke})
        data = {
            "gates": gates,
            "files": len(outputs),
            "implementer": who.get("agent") or ws.config.roles.implementer,
            "rotation": who.get("rotation") or [],
            "deleted": deleted,
            "base_commit": base,
        }
        if data["rotation"]:
            skipped = ", ".join(f"{r['agent']} ({r['detail']})" for r in data["rotation"])
            note = "; ".join(
                x for x in (note, f"backup implementer {data['implementer']} took over from {skipped}") if x
            )
        return Done(f"{deviations}, {smoke}", outputs, data, note)

    @staticmethod
    def _retry_gates(
        run: StepRun, changed: list[str], deleted: list[str], gates: list[dict[str, Any]]
    ) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Give the implementer ``gate_retries`` more tries with the failing gates' output, then fail the step."""
        ws, f = run.ws, run.feature
        tries = ws.config.steps.implement.gate_retries
        agent = ((run.memo("implement") or {}).get("data") or {}).get("agent")
        n = 0
        while _red(gates) and n < tries:
            n += 1
            prompt = render(
                ws,
                "gate_fix.md.j2",
                feature=f,
                attempt=n,
                tries=tries,
                red_gates=_red(gates),
                by_hand=agent == "hand",
                deviations_path=f"plans/{f}/deviations.md",
                plan=read_text(ws, f"plans/{f}/plan.md"),
            )
            call = f"gate-fix{n}"
            more = run.author(
                call,
                "implementer",
                prompt,
                [f"plans/{f}/deviations.md"],
                n + 1,
                agent if agent and agent != "hand" else None,
                watch=code_files(ws, f, run.lock),
            )
            gone = ((run.memo(call) or {}).get("data") or {}).get("deleted") or []
            changed = sorted(set(changed) | set(more))
            deleted = sorted((set(deleted) | set(gone)) - set(changed))
            gates = run_gates(run, call)
        red = _red(gates)
        if red:
            why = "local gate failed: " + "; ".join(
                f"`{g['command']}` {g['result']} (output: {g.get('log') or 'not stored'})" for g in red
            )
            if n:
                why += f"; still failing after {n} more {'try' if n == 1 else 'tries'} with the gate output"
            for i in range(1, n + 1):  # the next attempt starts from a new implementation, not these fixes
                run.attempt.reject(f"gate-fix{i}", why, {})
            raise run.rejected("implement", why, changed)
        return changed, deleted, gates


def _carried(run: StepRun) -> tuple[list[str], list[str]]:
    """The feature's files from its earlier implementations and fix rounds, and the files they deleted.

    A feature's change is everything any implementation of it touched, diffed
    against the commit its first implementation started from (kept in the
    attempt as ``base_commit``): a re-implementation that changes nothing
    still shows the code to its judges. ``devloop redo <f> implement
    --fresh`` starts over from the commit checked out now.
    """
    rec, ws = run.record, run.ws
    fresh = bool(run.scratch.get("fresh"))
    before = {} if fresh else rec.data
    if "base_commit" not in run.scratch:
        if "base_commit" not in before:  # never implemented, or started over
            base = git_head(ws.root)
        else:  # None: there was no commit then, and the whole files are the change
            base = before["base_commit"]
            if isinstance(base, str) and not gitsafe.is_commit(ws.root, base):
                base = None  # that commit is gone (a rebase): judges see whole files, never less
        run.scratch["base_commit"] = base
    if fresh:
        return [], []
    return list(rec.outputs), list(before.get("deleted") or [])


def _red(gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [g for g in gates if not g["passed"]]


def git_head(root: Path) -> str | None:
    """The commit the implementation starts from, so reviewers can see the whole diff."""

    return gitsafe.head(root)


def _make_executable(ws: Workspace, rel: str) -> str:
    path = ws.root / rel
    mode = path.stat().st_mode
    if mode & stat.S_IXUSR:
        return ""
    os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return f"{rel} was not executable; devloop made it so"
