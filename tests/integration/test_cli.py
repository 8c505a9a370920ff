"""The side commands: config schema/check, status --json, approve guards, run --wait, new."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import yaml

from tests.conftest import WS


def test_config_schema_is_json_schema_and_check_validates(ws: WS) -> None:
    r = ws.devloop("config", "schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert {"agents", "roles", "steps", "features"} <= set(schema["properties"])
    assert ws.devloop("config", "check").returncode == 0
    (ws.root / "devloop.yaml").write_text("agents:\n  x: {kind: command}\n")
    bad = ws.devloop("config", "check")
    assert bad.returncode == 3
    assert "devloop.yaml: line 2: agents.x: give either preset (a known CLI) or argv (any command)" in bad.stderr


def test_new_writes_the_brief_once(ws: WS) -> None:
    brief = ws.root.parent / "brief.txt"
    brief.write_text("# Long brief\n\nDetails.\n")
    assert ws.devloop("new", "from-file", "--brief-file", str(brief)).returncode == 0
    assert ws.read("plans/from-file/brief.md") == "# Long brief\n\nDetails.\n"
    again = ws.devloop("new", "from-file", "other")
    assert again.returncode == 3 and "already exists" in again.stderr
    both = ws.devloop("new", "x", "req", "--brief-file", str(brief))
    assert both.returncode == 3


def test_status_json_reports_every_step(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    (ws.root / "plans/a/evaluation.md").unlink()
    data = json.loads(ws.devloop("status", "--json").stdout)
    assert data["a"]["plan"]["state"] == "fresh" and data["a"]["plan"]["label"] == "up to date"
    assert data["a"]["evaluate"] == {
        "state": "stale",
        "label": "stale",
        "reasons": ["output plans/a/evaluation.md is missing or empty"],
    }
    table = ws.devloop("status").stdout.splitlines()
    assert table[1].split()[1:4] == ["up", "to", "date"]  # the table says the label the JSON gives
    assert data["a"]["next"] == "doit evaluate:a"


def test_approve_refuses_when_the_subject_changed_since_the_gate(ws: WS) -> None:
    ws.config(extra="steps:\n  plan_review: {max_rounds: 1}\n")
    ws.add_feature("a")
    assert "waiting for approval" in ws.doit().stdout
    with open(ws.root / "plans/a/plan.md", "a") as fh:
        fh.write("more\n")
    r = ws.devloop("approve", "a", "plan")
    assert r.returncode == 3 and "changed since the gate opened; run doit first" in r.stderr
    gate = yaml.safe_load(ws.read("plans/a/devloop.lock").split("\n", 1)[1])["gates"]["plan"]
    assert gate["status"] == "pending" and "by" not in gate  # still closed
    status = ws.devloop("status").stdout
    assert "devloop approve" not in status and "a: doit plan:a" in status  # adopt the edit, then review again


def test_run_wait_waits_for_the_other_run(ws: WS) -> None:
    ws.add_feature("a")
    ws.set_script({**ws.script, "a/plan/plan": {**ws.script["a/plan/plan"], "sleep": 2}})
    first = subprocess.Popen([sys.executable, "-m", "doit"], cwd=ws.root, env=ws.env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not ws.calls():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = ws.devloop("run", "--wait")
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(ws.calls()) == 10  # the waiting run found everything done and called nobody


def test_why_refuses_unknown_features(ws: WS) -> None:
    r = ws.devloop("why", "nope")
    assert r.returncode == 3 and "no feature 'nope'" in r.stderr
    assert ws.devloop("why", "Bad Name").returncode == 3
