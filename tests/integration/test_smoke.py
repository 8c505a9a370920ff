"""After deploy: `doit smoke`, triage routing, the round-trip cap, and the monitoring window with rollback."""

from __future__ import annotations

import getpass
import json

from devloop.provenance.lockfile import read_lock
from tests.conftest import WS, happy_script

VALIDATION = """# Checks

```yaml devloop
smoke:
  - name: service_live
    command: {argv: [sh, -c, "test -f live.flag"]}
    expect: exit_code == 0
rollback_triggers:
  - name: error_count
    command: {argv: [sh, -c, "cat errors.txt 2>/dev/null || echo 0"]}
    fire_when: stdout | trim | int > 5
monitoring: {duration: 2s, interval: 1s}
```
"""


def setup(ws: WS, extra: str = "") -> None:
    ws.config(
        triage="judge",
        extra="deploy:\n  rollback: [sh, -c, 'echo rolled back > rolled-back.flag']\n" + extra,
    )
    ws.add_feature("a")
    plan = {"write": {"plans/a/plan.md": "# Plan\nDo it.\n", "plans/a/validation.md": VALIDATION}}
    ws.set_script(
        {
            **happy_script("a"),
            "a/plan/plan": plan,
            "a/plan_review/round1-review": {"answer": "VERDICT: APPROVE\n"},
            "a/smoke/triage": {"answer": "The service never came up: live.flag is missing.\nROUTE: code\n"},
        }
    )


def test_smoke_fails_routes_to_code_then_passes_after_a_redeploy(ws: WS) -> None:
    setup(ws)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "evaluate:a (blocked)" in r.stdout and "then doit smoke:a" in r.stdout  # evaluation waits for smoke
    assert "smoke" not in [s for s, _, _ in ws.agents_since(0)]

    n = len(ws.calls())
    r = ws.doit("smoke")
    assert r.returncode == 0 and len(ws.calls()) == n
    assert "No deploy recorded, nothing to verify: a\nNext: devloop deployed a  (after you deploy a" in r.stdout

    assert ws.devloop("deployed", "a", "--version", "v1").returncode == 0
    r = ws.doit("smoke")
    assert r.returncode == 1
    assert "smoke failed against deploy #1 (round trip 1/3); triage routed to code" in r.stdout
    nxt = "Next: doit  (re-runs implement:a as triage asked; then redeploy, devloop deployed a, doit smoke:a)"
    assert nxt in r.stdout
    assert "implement: forced\n  - forced by triage route code (runs/" in ws.devloop("why", "a").stdout
    r = ws.doit("smoke")  # the routed step has not run yet: smoke refuses and calls nobody
    assert r.returncode == 1 and "smoke:a (refused: implement:a is forced" in r.stdout
    assert "Next: doit implement:a" in r.stdout
    run_dir = next((ws.root / "runs" / "a").glob("2*"))
    log = (run_dir / "smoke.log").read_text()
    assert "FAIL service_live (command) exit_code == 0 | actual: exit_code=1" in log
    assert "not fired error_count (command)" in log  # a trigger that did not fire is not a passed check
    assert json.loads((run_dir / "result.json").read_text())["passed"] is False
    assert (run_dir / "triage.md").read_text().endswith("ROUTE: code\n")

    n = len(ws.calls())
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    steps = [s for s, _, _ in ws.agents_since(n)]
    assert steps[0] == "implement" and "plan" not in steps and "plan_review" not in steps
    assert "The service never came up" in (ws.root.parent / "last-prompt-implement.txt").read_text()

    n = len(ws.calls())
    r = ws.doit("smoke")  # the fix is in, but deploy #1 is still what runs: its smoke failed, so exit 1
    assert r.returncode == 1, r.stdout + r.stderr
    assert "smoke:a FAILED: the smoke run against deploy #1 failed and triage routed to implement" in r.stdout
    assert "Next: devloop deployed a  (after you redeploy: the smoke run against deploy #1 failed" in r.stdout
    assert len(ws.calls()) == n and len(list((ws.root / "runs" / "a").glob("2*"))) == 1  # nothing run again

    (ws.root / "live.flag").write_text("up\n")
    assert ws.devloop("deployed", "a", "--version", "v2").returncode == 0
    r = ws.doit("smoke")
    assert r.returncode == 0, r.stdout
    assert "Step: smoke:a\n" in r.stdout
    r = ws.doit()
    assert "Next: nothing  (a has been through the whole loop)" in r.stdout


def test_a_trigger_firing_during_monitoring_rolls_back_then_triages(ws: WS) -> None:
    setup(ws)
    (ws.root / "live.flag").write_text("up\n")
    assert ws.doit().returncode == 0
    r = ws.devloop("monitor", "a")
    assert r.returncode == 3 and "after a passing smoke run" in r.stderr
    ws.devloop("deployed", "a", "--version", "v1")
    assert ws.doit("smoke").returncode == 0
    (ws.root / "errors.txt").write_text("9\n")
    ws.set_script({**ws.script, "a/smoke/triage": {"answer": "Errors spike after deploy.\nROUTE: plan\n"}})
    r = ws.devloop("monitor", "a")
    assert r.returncode == 1, r.stderr
    assert "FIRED error_count (command)" in r.stdout
    assert "(rollback ran) against deploy #1" in r.stdout and "triage routed to plan" in r.stdout
    assert (ws.root / "rolled-back.flag").read_text() == "rolled back\n"
    why = ws.devloop("why", "a").stdout
    assert "plan: forced\n  - forced by triage route plan" in why
    assert "smoke: failed\n  - rollback trigger error_count fired (rollback ran)" in why


def test_a_trigger_rolls_back_even_while_a_step_upstream_of_smoke_is_not_up_to_date(ws: WS) -> None:
    """The smoke step refuses to run behind a stale step; the fire's rollback never waits for that."""
    setup(ws)
    (ws.root / "live.flag").write_text("up\n")
    assert ws.doit().returncode == 0
    ws.devloop("deployed", "a", "--version", "v1")
    assert ws.doit("smoke").returncode == 0
    (ws.root / "plans/a/validation.md").write_text(VALIDATION + "\nOne more note.\n")  # plan review is stale now
    (ws.root / "errors.txt").write_text("9\n")
    r = ws.devloop("monitor", "a")
    assert "FIRED error_count (command)" in r.stdout, r.stdout + r.stderr
    assert "Trigger error_count fired (rollback ran); recorded in runs/a/" in r.stdout
    assert (ws.root / "rolled-back.flag").read_text() == "rolled back\n"
    fired = read_lock(ws.root / "plans/a/devloop.lock", "a").smoke["fired"]
    assert fired["triggers"] == ["error_count"] and fired["rollback"] == "rollback ran" and fired["deploy"] == 1
    (ws.root / "rolled-back.flag").unlink()
    r = ws.doit()  # the upstream steps run again; the smoke step's triage comes with the next doit smoke
    assert r.returncode == 0, r.stdout + r.stderr
    r = ws.doit("smoke")
    assert "rollback trigger error_count fired (rollback ran)" in r.stdout, r.stdout
    assert not (ws.root / "rolled-back.flag").exists()  # rolled back once, not again


def test_the_round_trip_cap_escalates_to_a_human(ws: WS) -> None:
    setup(ws, extra="steps:\n  smoke: {max_round_trips: 1}\n")
    assert ws.doit().returncode == 0
    ws.devloop("deployed", "a")
    assert ws.doit("smoke").returncode == 1
    assert ws.doit().returncode == 0
    ws.devloop("deployed", "a")
    r = ws.doit("smoke")  # the gate waits for a person, and the deploy still failed its checks: exit 1
    assert r.returncode == 1, r.stdout + r.stderr
    assert "smoke:a FAILED: smoke failed against deploy #2 (runs/a/" in r.stdout
    assert "after 1 round trip; the smoke gate waits for approval" in r.stdout
    assert "Next: devloop approve a smoke  (smoke still failing after 1 round trips" in r.stdout
    n = len(ws.calls())
    assert ws.doit("smoke:a").returncode == 1 and len(ws.calls()) == n  # still at the gate: nobody asked again
    runs = sorted((ws.root / "runs" / "a").glob("2*"))
    assert ws.devloop("approve", "a", "smoke").returncode == 0
    r = ws.doit("smoke:a")  # a person accepted the failing run: the deploy is settled, its checks not run again
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Step: smoke:a\nArtifact: runs/a/{runs[-1].name}/smoke.log\n" in r.stdout
    assert sorted((ws.root / "runs" / "a").glob("2*")) == runs and len(ws.calls()) == n


def test_a_malformed_check_block_fails_planning_with_the_line_and_field(ws: WS) -> None:
    ws.add_feature("a")
    bad = "# Checks\n\n```yaml devloop\nsmoke:\n  - name: x\n    http: {url: 'https://svc/healthz'}\n```\n"
    ws.set_script({**ws.script, "a/plan/plan": {"write": {"plans/a/plan.md": "# P\n", "plans/a/validation.md": bad}}})
    r = ws.doit()
    assert r.returncode == 1
    assert "plan:a FAILED: the post-deploy check block is invalid: plans/a/validation.md (block at line 3)" in r.stdout
    assert "smoke.0" in r.stdout and "expect" in r.stdout


def test_devloop_deploy_runs_the_configured_command_then_records_the_deploy(ws: WS) -> None:
    setup(ws, extra="  command: [sh, -c, 'echo applied > applied.flag; echo done']\n")
    ws.add_feature("b", script=False)
    r = ws.devloop("deploy", "b", "--version", "v7")  # nothing reviewed yet: nothing is run
    assert r.returncode == 3 and "code_review:b has not passed the current code" in r.stderr
    assert not (ws.root / "applied.flag").exists()
    r = ws.devloop("deploy", "b", "--version", "v7", "--force")
    assert r.returncode == 0, r.stderr
    assert "Deployed b (deploy #1); log: runs/" in r.stdout
    assert (ws.root / "applied.flag").read_text() == "applied\n"
    assert "command finished: exit 0" in next((ws.root / "runs" / "b").glob("2*/deploy.log")).read_text()
    deploy = read_lock(ws.root / "plans/b/devloop.lock", "b").deploy
    assert deploy["version"] == "v7" and deploy["forced"].startswith("code_review:b has not passed the current code")


GOLDEN_VALIDATION = """# Checks

```yaml devloop
smoke:
  - name: service_live
    command: {argv: [sh, -c, "echo up"]}
    expect: exit_code == 0 and 'up' in stdout
  - name: rows_loaded
    command: {argv: [sh, -c, "echo 0"]}
    expect: stdout | trim | int > 0
rollback_triggers:
  - name: error_count
    command: {argv: [sh, -c, "echo 9"]}
    fire_when: stdout | trim | int > 5
  - name: latency
    command: {argv: [sh, -c, "echo 120"]}
    fire_when: stdout | trim | int > 500
```
"""


def test_the_smoke_log_and_the_report_read_as_golden_files(ws: WS) -> None:
    """One passing and one failing check, one fired and one quiet trigger: the log and report people read."""
    from tests.goldens import check_golden, masked

    setup(ws)
    plan = {"write": {"plans/a/plan.md": "# Plan\nDo it.\n", "plans/a/validation.md": GOLDEN_VALIDATION}}
    ws.set_script({**ws.script, "a/plan/plan": plan})
    assert ws.doit().returncode == 0
    assert ws.devloop("deployed", "a", "--version", "v1").returncode == 0
    r = ws.doit("smoke")
    assert r.returncode == 1
    run_dir = next((ws.root / "runs" / "a").glob("2*"))
    check_golden("smoke.log", masked((run_dir / "smoke.log").read_text()))
    assert ws.devloop("report", "a").returncode == 0
    user = getpass.getuser()
    check_golden("report.md", masked(ws.read("plans/a/report.md"), (f" by {user} at", " by <user> at")))
