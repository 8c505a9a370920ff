"""rollup, graph and report over a feature that went through the real loop: read-only, no agent called."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
from click.testing import CliRunner

from devloop.cli.views import graph, report, rollup
from devloop.config.workspace import Workspace
from devloop.provenance.state import Gate
from tests.conftest import WS


def invoke(command: click.Command, ws: WS, *args: str) -> str:
    r = CliRunner().invoke(command, [*args, "-C", str(ws.root)])
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def add_smoke_history(ws: WS) -> None:
    """What a failed smoke run leaves behind, plus a deploy stamp and an approved gate in the lock."""
    run = ws.root / "runs" / "20260102-030405-alpha"
    run.mkdir(parents=True)
    result = {"passed": False, "deploy": {"id": 1}, "counts": {"checks": 2, "failed": 1, "errors": 0, "fired": 1}}
    result["rollback"] = {"configured": False, "ran": False, "summary": "no rollback configured, nothing rolled back"}
    (run / "result.json").write_text(json.dumps(result))
    (run / "smoke.log").write_text("FAIL check rows\n")
    (run / "triage.md").write_text("The rows check fails because the code drops nulls.\n\nROUTE: code\n")
    (run / "rollback.log").write_text("# triggers fired: error-rate\n")
    other = ws.root / "runs" / "20260102-030405-beta-alpha"  # another feature whose name ends in -alpha
    other.mkdir()
    (other / "smoke.log").write_text("not alpha's\n")
    w = Workspace(ws.root)
    lock = w.read_lock("alpha")
    lock.deploy = {"id": 1, "version": "v1", "by": "ann", "at": "2026-01-02T03:00:00+00:00"}
    lock.smoke = {"round_trips": 1, "failed_deploy": 1, "last_route": "implement"}
    lock.gates["plan"] = Gate(
        "plan_review", {"plans/alpha/plan.md": "ab" * 32}, "approved", by="ann", at="2026-01-01T00:00:00"
    )
    w.write_lock("alpha", lock)


def links(text: str, section: str) -> list[str]:
    part = text.split(f"## {section}")[1].split("\n## ")[0]
    return re.findall(r"\]\(([^)]+)\)", part)


def test_views_read_the_loop_and_call_no_agent(ws: WS, tmp_path: Path) -> None:
    ws.add_feature("alpha")
    assert ws.doit().returncode == 0
    calls, ledger = len(ws.calls()), ws.read("runs/ledger.jsonl")

    mermaid = invoke(graph, ws, "alpha")
    assert 'f_alpha__evaluate["evaluate<br/>up to date"]' in mermaid
    assert 'f_alpha__smoke["smoke<br/>not run"]' in mermaid
    assert '"alpha/plan" [label="plan\\nup to date"' in invoke(graph, ws, "--format", "dot")

    out = invoke(rollup, ws, "--force")
    assert out.startswith("Wrote runs/rollup-") and "forced" in out
    md = next((ws.root / "runs").glob("rollup-*.md"))
    assert "From 1 evaluation(s); 0 skipped." in md.read_text()
    assert md.with_suffix(".png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    assert invoke(report, ws, "alpha") == "plans/alpha/report.md\n"
    text = ws.read("plans/alpha/report.md")
    assert "| plan | up to date | author | - | " in text
    assert "| plan_review | up to date | judge, author | - |" in text and "| 3 | unknown |" in text
    # the duration is devloop's own (no agent), in seconds to the millisecond: 0.0 or 0.004, more when loaded
    assert re.search(r"\| red_team \| up to date \| - \| - \| \d+\.\d{1,3} \| - \| 0 \| - \|", text)
    assert "skipped: no red-team risk tag" in text
    assert "| smoke | not run |" in text and "| evaluate | up to date | judge |" in text
    assert "trigger_correctness 3" in text and "Total: 10 agent calls" in text and "cost unknown" in text
    assert "| 1 | judge | REVISE |" in text and "| 2 | judge | APPROVE |" in text
    assert "| judge | judge | NEEDS WORK |" in text and "| judge | judge | PRODUCTION GRADE |" in text
    assert "Final PRODUCTION GRADE count: 1/1" in text
    assert "No gate was needed." in text and "No smoke run yet." in text

    # None of it called an agent or touched the ledger, and report.md in plans/alpha/ invalidates nothing.
    assert len(ws.calls()) == calls and ws.read("runs/ledger.jsonl") == ledger
    assert "Everything is up to date" in ws.doit().stdout and len(ws.calls()) == calls


def test_report_shows_gates_deploys_smoke_runs_and_links(ws: WS, tmp_path: Path) -> None:
    ws.add_feature("alpha")
    assert ws.doit().returncode == 0
    add_smoke_history(ws)
    calls = len(ws.calls())
    invoke(report, ws, "alpha")
    text = ws.read("plans/alpha/report.md")
    assert "| smoke | not run |" in text and "| evaluate | pending |" in text  # a deploy makes smoke required
    assert "| plan | approved | ann | 2026-01-01T00:00:00 | `plans/alpha/plan.md` abababababab |" in text
    assert "Latest: #1 version v1 by ann" in text
    assert "Deploy #1 failed; triage sent the loop back to implement." in text
    row = (
        "| 20260102-030405-alpha | #1 | FAIL (no rollback configured, nothing rolled back)"
        " | checks 1/2 passed (1 failed); 1 fired; 0 errors |"
    )
    assert row in text  # what the rollback did, exactly: here, nothing
    assert "code (re-runs implement)" in text and "beta-alpha" not in text
    found = links(text, "Artifacts")
    assert {"brief.md", "../../src/alpha.py", "../../runs/20260102-030405-alpha/triage.md"} <= set(found)
    assert all((ws.root / "plans" / "alpha" / link).is_file() for link in found)

    elsewhere = tmp_path / "out" / "alpha.md"
    assert invoke(report, ws, "alpha", "--out", str(elsewhere)) == f"{elsewhere}\n"
    assert all((elsewhere.parent / link).is_file() for link in links(elsewhere.read_text(), "Artifacts"))
    assert len(ws.calls()) == calls


def test_a_hand_edit_shows_in_graph_and_report(ws: WS) -> None:
    ws.add_feature("alpha")
    assert ws.doit().returncode == 0
    calls = len(ws.calls())
    (ws.root / "plans" / "alpha" / "plan.md").write_text("# Plan\nDo it by hand.\n")
    mermaid = invoke(graph, ws)
    assert 'f_alpha__plan["plan<br/>hand edit"]' in mermaid and "  class f_alpha__plan edited" in mermaid
    assert 'f_alpha__plan_review["plan_review<br/>stale"]' in mermaid
    invoke(report, ws, "alpha")
    assert "| plan | hand edit | author |" in ws.read("plans/alpha/report.md")
    assert len(ws.calls()) == calls
