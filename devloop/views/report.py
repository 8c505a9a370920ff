"""``devloop report FEATURE``: one markdown page telling how a feature went through the loop.

Everything on it is read back from what the loop already recorded (the lock,
the ledger, the review records, the smoke run folders), so the page can be
regenerated at any time without calling an agent.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from devloop.after_deploy.runs import run_dirs
from devloop.config.workspace import Workspace
from devloop.judging.triage import ROUTES, parse_route
from devloop.loop.engine import feature_status
from devloop.provenance import ledger
from devloop.provenance.costs import Total
from devloop.provenance.staleness import LABELS
from devloop.provenance.state import FeatureLock, StepRecord
from devloop.runtime.atomic import atomic_write_text
from devloop.runtime.words import count, verdict
from devloop.steps.change import change_of
from devloop.steps.registry import ORDER
from devloop.steps.smoke import describe_counts


def _ledger_by_step(ws: Workspace, feature: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in ledger.of_feature(ws.root, feature):
        out.setdefault(str(e.get("step")), []).append(e)
    return out


def _unique(entries: list[dict[str, Any]], key: str) -> str:
    return ", ".join(dict.fromkeys(str(e[key]) for e in entries if e.get(key))) or "-"


def _note(step: str, rec: StepRecord | None) -> str:
    """The one fact about a finished step worth a glance: its verdict, scores or why it was skipped."""
    if rec is None:
        return ""
    data = rec.data
    if rec.state not in ("new", "done"):
        return str(rec.detail or "")
    if data.get("skipped"):
        return f"skipped: {data.get('reason', '')}"
    if step == "plan_review":
        rounds = data.get("rounds")
        return (
            f"{verdict(data.get('verdict'))} after {count(rounds, 'round') if isinstance(rounds, int) else '? rounds'}"
        )
    if step == "code_review":
        return f"{verdict(data.get('verdict'))}: {data.get('production_grade', '?')} of {data.get('seats', '?')} votes"
    if step == "implement":
        gates = data.get("gates") or []
        passed = sum(bool(g.get("passed")) for g in gates)
        gate_note = f"local gates {passed}/{len(gates)} passed" if gates else "no local gates configured"
        return f"by {data.get('implementer', '?')}; {gate_note}"
    if step == "red_team" and data.get("teams"):
        counts = ", ".join(f"{v} {k}" for k, v in (data.get("findings") or {}).items())
        return f"teams {', '.join(data['teams'])}: {counts}"
    if step == "evaluate" and data.get("scores"):
        return ", ".join(f"{k} {v}" for k, v in sorted(data["scores"].items()))
    if step == "smoke" and data.get("result"):
        return f"{data['result']} (deploy #{data.get('deploy', '?')})"
    return str(data.get("verdict") or rec.detail or "")


def timeline(ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
    status = feature_status(ws, feature)
    calls = _ledger_by_step(ws, feature)
    out = [
        "## Timeline",
        "",
        "| step | state | agents | models | duration (s) | agent time (s) | calls | cost | finished | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    grand = Total()
    for step in ORDER:
        rec = lock.record(step)
        entries = calls.get(step, [])
        t = Total()
        for e in entries:
            t.add(e)
            grand.add(e)
        failed = f" ({t.failed} failed)" if t.failed else ""
        cells = [
            step,
            LABELS[status[step].state],
            _unique(entries, "agent"),
            _unique(entries, "model"),
            str(rec.duration_s if rec and rec.finished else "-"),
            (f"{t.seconds:.2f}" + (f" (+ {t.person_seconds:.0f} by a person)" if t.person_calls else ""))
            if entries
            else "-",
            f"{t.calls}{failed}",
            t.cost_text() if entries else "-",
            str((rec.finished if rec else None) or "-"),
            " ".join(_note(step, rec).replace("|", "/").split()),
        ]
        out.append("| " + " | ".join(cells) + " |")
    cost = grand.cost_text() if grand.calls else "-"
    person = grand.person_calls
    by_person = f", {count(person, 'answer')} by a person in {grand.person_seconds:.0f} s" if person else ""
    total = f"Total: {count(grand.calls - person, 'agent call')}, {grand.seconds:.2f} s of agent time{by_person}"
    out += ["", f"{total}, cost {cost}.", ""]
    return out


def plan_review(ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
    out = ["## Plan review", ""]
    path = ws.feature_dir(feature) / "plan-review.md"
    if not path.is_file():
        return [*out, "No plan review recorded yet.", ""]
    rows: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^## Round (\d+)", line):
            rows.append([m.group(1), "-", "-"])
        elif rows and (m := re.match(r"^- (Reviewer|Verdict): (.*)$", line)):
            rows[-1][1 if m.group(1) == "Reviewer" else 2] = m.group(2).strip()
    out += ["| round | reviewer | verdict |", "|---|---|---|", *(f"| {' | '.join(r)} |" for r in rows), ""]
    return [*out, f"Outcome: {_note('plan_review', lock.record('plan_review'))}.", ""]


def code_review(ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
    """The vote tables and results of every cycle, copied from reviews.md (its claims stay there)."""
    out = ["## Code review", ""]
    path = ws.feature_dir(feature) / "reviews.md"
    if not path.is_file():
        return [*out, "No code review recorded yet.", ""]
    keep = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## Cycle"):
            out += ["#" + line, ""]
            keep = True
        elif line.startswith("### "):
            keep = False
        elif keep and line.startswith("|"):
            out.append(line)
        elif line.startswith(("**Result:**", "Final PRODUCTION GRADE")):
            out += ["", line, ""]
    return [*out, f"Outcome: {_note('code_review', lock.record('code_review'))}.", ""]


def gates(lock: FeatureLock) -> list[str]:
    out = ["## Gates", ""]
    if not lock.gates:
        return [*out, "No gate was needed.", ""]
    out += ["| gate | state | by | at | subject |", "|---|---|---|---|---|"]
    for name, s in sorted(lock.gates.items()):
        state = f"waiting for approval ({s.detail})" if s.pending else "approved"
        subject = ", ".join(f"`{p}` {str(h)[:12]}" for p, h in sorted(s.subject.items()))
        out.append(f"| {name} | {state} | {s.by or '-'} | {s.at or '-'} | {subject} |")
    return [*out, ""]


def deploys_and_smoke(ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
    out = ["## Deploys", ""]
    d = lock.deploy
    if d:
        forced = f" Recorded with --force: {d['forced']}." if d.get("forced") else ""
        out.append(f"Latest: #{d['id']} version {d.get('version')} by {d.get('by')} at {d.get('at')}.{forced}")
    else:
        out.append("None.")
    out += ["", "## Smoke runs and triage", ""]
    out += smoke_state(lock.smoke)
    rows = []
    for rd in run_dirs(ws, feature):
        try:
            result = json.loads((rd / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = {}
        if not result and (rd / "monitor.log").is_file():
            rows.append(f"| {rd.name} | - | monitoring, no trigger fired | {_monitor_lines(rd)} | - |")
            continue
        verdict = {True: "PASS", False: "FAIL"}.get(result.get("passed"), "no result recorded")
        counts = describe_counts(result["counts"]) if isinstance(result.get("counts"), dict) else "-"
        route = "-"
        if (rd / "triage.md").is_file():
            p = parse_route((rd / "triage.md").read_text(encoding="utf-8"))
            route = f"{p.verdict} (re-runs {ROUTES[p.verdict]})" if p.ok else f"unparseable ({p.reason})"
        dep = (result.get("deploy") or {}).get("id", "-")
        rollback = _rollback_note(result, rd)
        rows.append(f"| {rd.name} | #{dep} | {verdict}{rollback} | {counts} | {route} |")
    if not rows:
        return [*out, "No smoke run yet.", ""]
    return [*out, "| run | deploy | result | counts | triage route |", "|---|---|---|---|---|", *rows, ""]


def _monitor_lines(rd: Path) -> str:
    lines = [line for line in (rd / "monitor.log").read_text(encoding="utf-8").splitlines() if line.strip()]
    return f"{len(lines)} trigger evaluation(s)"


def change(ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
    """The feature's change as the judges saw it: its files and what it deleted."""

    ch = change_of(ws, feature, lock)
    if not ch.files and not ch.deleted:
        return []
    out = ["## The change", "", f"{len(ch.files)} file(s) reviewed with the feature", ""]
    out += [f"- `{p}`" for p in ch.files]
    if ch.deleted:
        out += ["", "Deleted:", ""] + [f"- `{p}`" for p in ch.deleted]
    base = lock.data("implement").get("base_commit")
    if base:
        out += ["", f"Diffs are taken against commit `{str(base)[:12]}`, where implementation began."]
    return [*out, ""]


def smoke_state(smoke: dict[str, Any]) -> list[str]:
    """The lock's smoke bookkeeping, as sentences."""
    lines = []
    if smoke.get("passed_deploy"):
        lines.append(f"- Last passing smoke run: deploy #{smoke['passed_deploy']}.")
    if smoke.get("failed_deploy"):
        lines.append(
            f"- Deploy #{smoke['failed_deploy']} failed; triage sent the loop back to {smoke.get('last_route')}."
        )
    if smoke.get("round_trips"):
        lines.append(f"- Round trips so far: {smoke['round_trips']}.")
    fired = smoke.get("fired")
    if fired:
        lines.append(
            f"- Trigger {', '.join(fired.get('triggers') or [])} fired against deploy #{fired.get('deploy')} "
            f"({fired.get('run')}): {fired.get('rollback', 'rollback not recorded')}."
        )
    m = smoke.get("monitored")
    if m:
        lines.append(f"- Monitored deploy #{m.get('deploy')}: {m.get('evaluations')} evaluation(s), none fired.")
    return [*lines, ""] if lines else []


def _rollback_note(result: dict[str, Any], rd: Path) -> str:
    """What the rollback did in this run, exactly as recorded (nothing when no trigger fired)."""
    rb = result.get("rollback")
    if isinstance(rb, dict):
        return f" ({rb.get('summary')})"
    return " (rollback log present)" if (rd / "rollback.log").is_file() else ""


def artifacts(ws: Workspace, feature: str, lock: FeatureLock, here: Path) -> list[str]:
    """Relative links, from the report's folder, to every file the loop recorded for the feature."""
    out = ["## Artifacts", ""]
    paths = {f"plans/{feature}/brief.md": {}, **lock.artifacts}
    for rd in run_dirs(ws, feature):
        paths.update({ws.rel(p): {} for p in sorted(rd.rglob("*")) if p.is_file()})
    for p, meta in sorted(paths.items()):
        link = Path(os.path.relpath(ws.root / p, here)).as_posix()
        missing = "" if (ws.root / p).exists() else " (missing)"
        edited = " (edited by hand)" if meta.get("edited") else ""
        out.append(f"- [{p}]({link}){edited}{missing}")
    return [*out, ""]


def build(ws: Workspace, feature: str, out_path: Path) -> str:
    lock = ws.read_lock(feature)
    head = [f"# Report: {feature}", "", "Read back from the lock, the ledger and the run folders; no agent called.", ""]
    text = "\n".join(
        head
        + timeline(ws, feature, lock)
        + plan_review(ws, feature, lock)
        + change(ws, feature, lock)
        + code_review(ws, feature, lock)
        + gates(lock)
        + deploys_and_smoke(ws, feature, lock)
        + artifacts(ws, feature, lock, out_path.resolve().parent)
    )
    return re.sub(r"\n{3,}", "\n\n", text)


def write(ws: Workspace, feature: str, out: Path | None = None) -> Path:
    """Write the report (default plans/<feature>/report.md) atomically; returns where."""
    path = out if out is not None else ws.feature_dir(feature) / "report.md"
    path = path if path.is_absolute() else Path.cwd() / path
    atomic_write_text(path, build(ws, feature, path))
    return path
