"""Code an agent wrote never sees devloop's secrets, and no secret is written or printed (issue 13, items 4, 6, 7).

Real doit and devloop processes, real gate and agent subprocesses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from devloop.after_deploy.checks.base import CheckContext
from devloop.after_deploy.checks.command import environment
from devloop.config.workspace import Workspace
from tests.conftest import WS

PASSWORD = "pa55-w0rd-9f3e1c"
DATABASE_URL = f"postgresql://app:{PASSWORD}@db.internal:5432/sales"
API_KEY = "sk-test-0123456789abcdef"

DUMP_ENV = "import json, os, sys; open(sys.argv[1], 'w').write(json.dumps(sorted(os.environ)))"


def secret_ws(ws: WS) -> WS:
    ws.env.update(DATABASE_URL=DATABASE_URL, OPENAI_API_KEY=API_KEY, SHOWN_TO_GATE="yes", SHOWN_TO_ALL="yes")
    return ws


def test_gates_get_an_allow_listed_environment(ws: WS) -> None:
    secret_ws(ws)
    gates = (
        "steps:\n  implement:\n    env_allow: [SHOWN_TO_ALL]\n    gates:\n"
        f'      - [{sys.executable}, -c, "{DUMP_ENV}", gate1.json]\n'
        f'      - {{argv: [{sys.executable}, -c, "{DUMP_ENV}", gate2.json], env_allow: [SHOWN_TO_GATE]}}\n'
    )
    ws.config(extra=gates)
    ws.add_feature("a")
    r = ws.doit("implement:a")
    assert r.returncode == 0, r.stdout + r.stderr
    first = json.loads((ws.root / "gate1.json").read_text())
    second = json.loads((ws.root / "gate2.json").read_text())
    for names in (first, second):
        assert "PATH" in names and "HOME" in names
        assert "OPENAI_API_KEY" not in names and "DATABASE_URL" not in names
        assert "FAKE_AGENT_SCRIPT" not in names  # allowed to agents, not to gates
        assert not [n for n in names if n.startswith("DEVLOOP_")]
        assert "SHOWN_TO_ALL" in names
    assert "SHOWN_TO_GATE" not in first and "SHOWN_TO_GATE" in second


def test_command_checks_get_an_allow_listed_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/creds.json")
    monkeypatch.setenv("DEVLOOP_CALL_ID", "x")
    ctx = CheckContext(tmp_path, None, "a", "v1", None, env_allow=("GOOGLE_APPLICATION_CREDENTIALS",))
    env = environment(ctx)
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/creds.json"
    assert "OPENAI_API_KEY" not in env and "DEVLOOP_CALL_ID" not in env
    assert env["DEVLOOP_FEATURE"] == "a" and env["DEVLOOP_VERSION"] == "v1"
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in environment(CheckContext(tmp_path, None, "a"))


def everything_written(ws: WS, stdout: str) -> dict[str, str]:
    texts = {"stdout": stdout}
    for path in ws.root.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix in (".md", ".lock", ".jsonl", ".json", ".log"):
            texts[str(path.relative_to(ws.root))] = path.read_text(errors="replace")
    return texts


def test_a_database_url_password_is_redacted_everywhere(ws: WS) -> None:
    """An unparseable verdict quoting it, a review quoting it: lock, ledger, artifacts, stdout stay clean."""
    secret_ws(ws)
    ws.config()
    ws.add_feature("a")
    script = dict(ws.script)
    script["a/plan_review/round1-review"] = {
        "answer": f"I connected with {DATABASE_URL} and key {API_KEY}.\nVERDICT: {PASSWORD}\n"
    }
    ws.set_script(script)
    r = ws.doit("plan_review:a")
    assert r.returncode != 0
    assert "[redacted]" in ws.read("plans/a/devloop.lock")  # the reason the answer was refused, masked
    script["a/plan_review/round1-review"] = {"answer": f"Checked against {DATABASE_URL}.\nVERDICT: APPROVE\n"}
    ws.set_script(script)
    r2 = ws.doit("plan_review:a")
    assert r2.returncode == 0, r2.stdout + r2.stderr
    texts = everything_written(ws, r.stdout + r.stderr + r2.stdout + r2.stderr)
    leaks = {name for name, text in texts.items() if PASSWORD in text or API_KEY in text}
    assert not leaks, f"secret written to {sorted(leaks)}"
    review = ws.read("plans/a/review-judge-round1.md")
    assert "postgresql://app:[redacted]@db.internal:5432/sales" in review


def test_an_agent_running_devloop_inside_a_step_is_refused(ws: WS) -> None:
    ws.config()
    ws.add_feature("a")
    script = dict(ws.script)
    attempts = [["devloop", "approve", "a", "plan"], [sys.executable, "-m", "doit", "list"], ["devloop", "status"]]
    plan = script["a/plan/plan"]
    script["a/plan/plan"] = {**plan, "run": attempts[0]}
    ws.set_script(script)
    ws.env["PATH"] = f"{Path(sys.executable).parent}:{ws.env['PATH']}"
    for n, argv in enumerate(attempts, 1):
        script["a/plan/plan"] = {**plan, "run": argv}
        ws.set_script(script)
        # Each pass asks for a new attempt of plan (even the first, before plan ever ran) and gets one.
        redo = ws.devloop("redo", "a", "plan")
        assert redo.returncode == 0, redo.stdout + redo.stderr
        assert redo.stdout == "plan:a will be regenerated. Next: doit\n" and redo.stderr == ""
        forced = Workspace(ws.root).read_lock("a").step("plan").force
        assert forced is not None and (forced.by, forced.reason) == ("redo", "devloop redo")
        r = ws.doit("plan:a")
        assert r.returncode == 0, r.stdout + r.stderr
        step = Workspace(ws.root).read_lock("a").step("plan")
        assert (step.state, step.force, step.attempts) == ("done", None, n)
        assert [c["step"] for c in ws.calls()] == ["plan"] * n  # the agent ran again, once per redo
    ran = [json.loads(line) for line in (ws.log.parent / "ran.jsonl").read_text().splitlines()]
    assert [x["rc"] for x in ran] == [4, 4, 4], ran
    for x in ran:
        assert "started by an agent during step plan of feature a" in x["stderr"]
        assert "Traceback" not in x["stderr"]


def test_a_passing_review_that_echoes_an_allowed_key_is_stored_redacted(ws: WS) -> None:
    """The reviewer may read OPENAI_API_KEY (env_allow); its answer still never carries the key into git."""
    secret_ws(ws)
    ws.config()
    text = ws.read("devloop.yaml").replace("env_allow: [", "env_allow: [OPENAI_API_KEY, ", 1)
    text = text.replace("timeout: 60}", "timeout: 60, env: {REVIEW_TOKEN: tok-5e3f9a1b7c}}")
    (ws.root / "devloop.yaml").write_text(text)
    ws.add_feature("a")
    script = dict(ws.script)
    script["a/code_review/round1-judge"] = {"answer": f"Used {API_KEY} and tok-5e3f9a1b7c.\nVOTE: PRODUCTION GRADE\n"}
    ws.set_script(script)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    review = ws.read("plans/a/reviews/round1-judge.md")
    assert "Used [redacted] and [redacted]." in review
    texts = everything_written(ws, r.stdout + r.stderr)
    texts.pop(".devloop/config-cache.json")  # devloop.yaml parsed, per machine and never committed: the user's text
    leaks = {name for name, t in texts.items() if API_KEY in t or "tok-5e3f9a1b7c" in t}
    assert not leaks, f"secret written to {sorted(leaks)}"
