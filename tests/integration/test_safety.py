"""Nothing lost, nothing half-written, one run at a time, one clear error for bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from devloop.provenance.lockfile import read_lock
from tests.conftest import WS


def _start_doit(ws: WS) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "doit"],
        cwd=ws.root,
        env=ws.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_call(ws: WS, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(ws.calls()) < n:
        assert time.monotonic() < deadline, "the agent was never called"
        time.sleep(0.05)


def test_a_second_run_fails_fast_while_the_first_works(ws: WS) -> None:
    ws.add_feature("a")
    ws.set_script({**ws.script, "a/plan/plan": {**ws.script["a/plan/plan"], "sleep": 3}})
    first = _start_doit(ws)
    try:
        _wait_for_call(ws, 1)
        second = ws.doit()
        assert second.returncode == 4, second.stdout + second.stderr
        assert first.poll() is None  # it answered while the first still worked: it did not wait
        assert "another devloop or doit run (pid " in second.stderr
        assert len(ws.calls()) == 1  # the second run called no agent
    finally:
        out, _ = first.communicate(timeout=60)
    assert first.returncode == 0, out
    assert "Next: nothing  (a has been through the whole loop)" in out


def test_kill_9_mid_call_leaves_nothing_half_done_and_the_next_run_resumes(ws: WS) -> None:
    ws.add_feature("a")
    script = dict(ws.script)
    partial = {"write": {"plans/a/plan.md": "# Plan\nhalf"}, "sleep_after_write": 30}
    ws.set_script({**script, "a/plan/plan": partial})
    proc = _start_doit(ws)
    _wait_for_call(ws, 1)
    deadline = time.monotonic() + 10
    while not (ws.root / "plans/a/plan.md").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    plan = read_lock(ws.root / "plans/a/devloop.lock", "a").steps["plan"]
    assert plan.attempt is not None and plan.attempt.inflight == "plan" and plan.state == "running"  # in flight
    assert "plan: interrupted\n  - a run stopped during call plan" in ws.devloop("why", "a").stdout
    ws.set_script(script)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert ws.read("plans/a/plan.md") == "# Plan\nDo it well.\n"
    kept = [p.read_text() for p in (ws.root / "plans/a/.history").rglob("plan.md")]
    assert "# Plan\nhalf" in kept  # the partial file was archived, not lost
    assert ws.calls_since(0)[1][1:] == ("plan", "plan")  # the killed call was made again, once


def test_kill_9_between_review_rounds_resumes_without_repeating_calls(ws: WS) -> None:
    ws.add_feature("a")
    script = dict(ws.script)
    slow_revise = {**script["a/plan_review/round1-revise"], "sleep": 30}
    ws.set_script({**script, "a/plan_review/round1-revise": slow_revise})
    proc = _start_doit(ws)
    _wait_for_call(ws, 3)  # plan, round1-review, round1-revise (sleeping)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    ws.set_script(script)
    n = len(ws.calls())
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    resumed = ws.calls_since(n)
    assert resumed[:2] == [("a", "plan_review", "round1-revise"), ("a", "plan_review", "round2-review")]
    assert ("a", "plan_review", "round1-review") not in resumed


def test_an_agent_that_hangs_is_killed_and_the_step_fails(ws: WS) -> None:
    ws.config(extra="")
    text = (ws.root / "devloop.yaml").read_text().replace("timeout: 60", "timeout: 1")
    (ws.root / "devloop.yaml").write_text(text)
    ws.add_feature("a")
    ws.set_script({**ws.script, "a/plan/plan": {"sleep": 30}})
    r = ws.doit()
    assert r.returncode == 1
    assert "timed out after 1s" in r.stdout, r.stdout
    assert "timed out after 1s (process group killed)" in r.stdout
    assert not (ws.root / "plans/a/plan.md").exists()


def test_bad_feature_names_are_refused_and_nothing_is_written(ws: WS) -> None:
    for bad in ["Bad Name", "../escape", "a/b", "UPPER", ""]:
        r = ws.devloop("new", bad, "x")
        assert r.returncode == 3, (bad, r.stderr)
        assert "kebab-case" in r.stderr or "empty" in r.stderr
    assert not (ws.root / "plans").exists()


def files(ws: WS) -> list[str]:
    """Every file and folder of the workspace but git's and Python's bytecode cache.

    Importing dodo.py writes ``__pycache__/dodo.*.pyc`` unless
    PYTHONDONTWRITEBYTECODE is set (as on most machines): Python's doing, not
    devloop's, and present whatever the outcome.
    """
    out = []
    for p in ws.root.rglob("*"):
        rel = p.relative_to(ws.root)
        if rel.parts[0] not in (".git", "__pycache__"):
            out.append(rel.as_posix())
    return sorted(out)


def test_bad_config_is_one_clear_error_naming_the_field(ws: WS) -> None:
    ws.add_feature("a")
    (ws.root / "devloop.yaml").write_text("roles:\n  planner: ghost\n")
    before = files(ws)
    r = ws.doit()
    assert r.returncode == 3
    assert "roles.planner: agent 'ghost' is not defined under agents" in r.stderr
    assert "Traceback" not in r.stderr
    st = ws.devloop("status")
    assert st.returncode == 3 and "roles.planner" in st.stderr
    assert files(ws) == before
    assert ws.calls() == []


def test_init_refuses_to_overwrite(ws: WS) -> None:
    original = ws.read("devloop.yaml")
    r = ws.devloop("init")
    assert r.returncode == 3 and "already exist" in r.stderr
    assert ws.read("devloop.yaml") == original


def test_help_and_noop_never_import_google_cloud(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    probe = (
        "import sys, runpy; sys.argv=['doit']\n"
        "try:\n    runpy.run_module('doit', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "assert not [m for m in sys.modules if m.startswith('google')], 'google imported'\n"
        "assert 'pydantic' not in sys.modules and 'jinja2' not in sys.modules, 'heavy import on the no-op path'\n"
    )
    r = ws.run([sys.executable, "-c", probe])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Everything is up to date" in r.stdout
    probe_help = (
        "import sys\nfrom devloop.cli.main import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "assert not [m for m in sys.modules if m.startswith('google')]\n"
    )
    r = ws.run([sys.executable, "-c", probe_help])
    assert r.returncode == 0, r.stderr


def test_a_truncated_doit_database_is_only_a_lost_cache(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    db = ws.root / ".devloop/doit.db"
    db.write_text(db.read_text()[:25])
    n = len(ws.calls())
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Everything is up to date" in r.stdout
    assert len(ws.calls()) == n


def test_an_author_that_writes_an_empty_file_fails_the_step(ws: WS) -> None:
    ws.add_feature("a")
    ws.set_script({**ws.script, "a/plan/plan": {"write": {"plans/a/plan.md": "# Plan\n", "plans/a/validation.md": ""}}})
    r = ws.doit()
    assert r.returncode == 1
    assert "did not write plans/a/validation.md (missing or empty)" in r.stdout


def test_an_oversized_prompt_is_refused_before_any_call(ws: WS) -> None:
    ws.config(extra="max_prompt_chars: 1000\n")
    ws.add_feature("a", script=False)
    (ws.root / "plans/a/brief.md").write_text("# a\n\n" + "word " * 400)
    r = ws.doit()
    assert r.returncode == 1
    assert "the planner prompt for plan is" in r.stdout and "over max_prompt_chars (1,000)" in r.stdout
    assert ws.calls() == []


def test_secrets_never_reach_the_output_the_ledger_or_the_lock(ws: WS) -> None:
    secret = "sk-live-0123456789abcdef"
    ws.env["MY_SERVICE_TOKEN"] = secret
    ws.add_feature("a")
    ws.set_script({**ws.script, "a/plan/plan": {"stderr": f"auth failed for key {secret}\n", "exit": 1}})
    r = ws.doit()
    assert r.returncode == 1
    assert secret not in r.stdout + r.stderr
    assert "auth failed for key [redacted]" in r.stdout
    for rel in ("runs/ledger.jsonl", "plans/a/devloop.lock"):
        text = ws.read(rel)
        assert secret not in text and "[redacted]" in text
