"""`doit smoke` exits 1 whenever the smoke result is FAIL or ERROR, whoever triages and whatever triage decided.

A person triaging (the manual agent, the default) leaves the step waiting, a
triage agent routes the loop back, the round-trip cap waits at a gate: the
deploy still failed its checks, so a CI job running `doit smoke:<f>` is red,
and stays red on every re-run until a redeploy passes. Re-runs print what
triage waits for or where it routed, and never run a check or ask an agent
again. Real subprocesses: the smoke script, a real local HTTP server for the
http check, doit and devloop as a user runs them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import WS, happy_script


def _runs(ws: WS, feature: str = "a") -> list[Path]:
    return sorted((ws.root / "runs" / feature).glob("2*"))


def _probes(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _script_feature(ws: WS, tmp: Path, feature: str = "a") -> tuple[Path, Path]:
    """A feature whose smoke script logs each run outside the workspace and passes once live.flag exists."""
    probes, flag = tmp / f"probes-{feature}.log", tmp / f"live-{feature}.flag"
    ws.add_feature(feature)
    script = happy_script(feature)
    smoke = f"#!/bin/sh\necho run >> {probes}\ntest -f {flag} || {{ echo service down; exit 3; }}\n"
    script[f"{feature}/implement/implement"]["write"][f"scripts/smoke/{feature}.sh"] = smoke
    ws.set_script({**ws.script, **script})
    return probes, flag


def test_a_person_triaging_keeps_doit_smoke_red_until_a_redeploy_passes(ws: WS, tmp_path: Path) -> None:
    """No triage agent configured: the manual agent waits for a person, and every `doit smoke` exits 1."""
    probes, flag = _script_feature(ws, tmp_path)
    assert ws.doit().returncode == 0
    assert ws.devloop("deployed", "a", "--version", "v1").returncode == 0

    r = ws.doit("smoke:a")
    assert r.returncode == 1, r.stdout + r.stderr
    (run,) = _runs(ws)
    d = f"runs/a/{run.name}"
    assert f"Step: smoke:a FAILED: smoke failed against deploy #1 (round trip 1/3, {d}/smoke.log); " in r.stdout
    assert "triage waits for a person" in r.stdout
    # what the person is to write, and the command that reads it (a plain doit never runs smoke)
    assert f"Next: write {d}/triage.md (prompt: .devloop/prompts/a/smoke-triage.md), then doit smoke:a\n" in r.stdout
    assert "FAIL smoke script scripts/smoke/a.sh | exit 3" in (run / "smoke.log").read_text()
    assert _probes(probes) == 1

    n = len(ws.calls())
    for again in (["smoke:a"], ["smoke"]):  # still waiting on the person: still red, nothing run again
        r = ws.doit(*again)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "triage waits for a person" in r.stdout and f"Next: write {d}/triage.md" in r.stdout
    r = ws.devloop("run", "smoke:a")  # doit in-process, as `devloop run` runs it
    assert r.returncode == 1 and "triage waits for a person" in r.stdout, r.stdout + r.stderr
    assert _probes(probes) == 1 and _runs(ws) == [run] and len(ws.calls()) == n

    (run / "triage.md").write_text("The service is down after the deploy.\nROUTE: code\n")
    r = ws.doit("smoke:a")  # the person's answer is read; the checks are not run again
    assert r.returncode == 1, r.stdout + r.stderr
    assert "smoke failed against deploy #1 (round trip 1/3); triage routed to code" in r.stdout
    assert "Next: doit  (re-runs implement:a as triage asked; then redeploy" in r.stdout
    assert _probes(probes) == 1 and _runs(ws) == [run]

    r = ws.doit("smoke:a")  # the routed step has not run: refused
    assert r.returncode == 1 and "smoke:a (refused: implement:a is forced" in r.stdout
    assert ws.doit().returncode == 0  # implement re-runs with the triage note

    n = len(ws.calls())
    r = ws.doit("smoke:a")  # the fix is in, but deploy #1 (whose smoke failed) is still what runs
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED: the smoke run against deploy #1 failed and triage routed to implement" in r.stdout
    assert "Next: devloop deployed a  (after you redeploy" in r.stdout
    assert _probes(probes) == 1 and _runs(ws) == [run] and len(ws.calls()) == n

    flag.write_text("up\n")
    assert ws.devloop("deployed", "a", "--version", "v2").returncode == 0
    r = ws.doit("smoke:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Step: smoke:a\n" in r.stdout and _probes(probes) == 2
    assert ws.doit("smoke:a").returncode == 0 and _probes(probes) == 2  # passed: up to date, not run again


class _Service:
    """A real local HTTP server standing for the deployed service; ``status`` is what /healthz answers."""

    def __init__(self) -> None:
        self.status = 503
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = b"ok" if outer.status == 200 else b"unavailable"
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/healthz"


@pytest.fixture
def service() -> Iterator[_Service]:
    svc = _Service()
    thread = threading.Thread(target=svc.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield svc
    svc.httpd.shutdown()
    svc.httpd.server_close()


def _http_feature(ws: WS, url: str, triage: str | None = None) -> None:
    validation = (
        "# Checks\n\n```yaml devloop\nsmoke:\n  - name: health\n"
        f"    http: {{url: '{url}', timeout: 5s}}\n    expect: status == 200\n```\n"
    )
    if triage:
        ws.config(triage=triage)
    ws.add_feature("a")
    ws.set_script(
        {
            **ws.script,
            "a/plan/plan": {"write": {"plans/a/plan.md": "# Plan\nDo it.\n", "plans/a/validation.md": validation}},
            "a/plan_review/round1-review": {"answer": "VERDICT: APPROVE\n"},
            "a/smoke/triage": {"answer": "The service answers 503.\nROUTE: code\n"},
        }
    )


def test_a_triage_agent_routing_back_keeps_doit_smoke_red_and_is_asked_once(ws: WS, service: _Service) -> None:
    _http_feature(ws, service.url, triage="judge")
    r = ws.doit()
    assert r.returncode == 0 and "evaluate:a (blocked)" in r.stdout, r.stdout + r.stderr
    assert ws.devloop("deployed", "a", "--version", "v1").returncode == 0

    n = len(ws.calls())
    r = ws.doit("smoke:a")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "smoke failed against deploy #1 (round trip 1/3); triage routed to code" in r.stdout
    assert [s for s, _, _ in ws.agents_since(n)] == ["smoke"] and service.hits == 1
    (run,) = _runs(ws)
    assert "FAIL health (http) status == 200 | actual: status=503" in (run / "smoke.log").read_text()

    n = len(ws.calls())
    r = ws.doit("smoke:a")
    assert r.returncode == 1 and "refused: implement:a is forced" in r.stdout
    assert ws.doit().returncode == 0
    m = len(ws.calls())
    assert m > n  # implement and its review ran again, as triage asked
    for _ in range(2):  # the deploy that failed is still what runs: red, and nobody is asked again
        r = ws.doit("smoke:a")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "the smoke run against deploy #1 failed and triage routed to implement" in r.stdout
    assert len(ws.calls()) == m and service.hits == 1 and _runs(ws) == [run]

    service.status = 200
    assert ws.devloop("deployed", "a", "--version", "v2").returncode == 0
    r = ws.doit("smoke:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert service.hits == 2 and len(ws.calls()) == m  # a pass asks no triage


def test_an_error_is_never_green_with_a_person_triaging(ws: WS, service: _Service) -> None:
    """A check that cannot observe (connection refused) is an ERROR: exit 1, as a FAIL is."""
    service.httpd.server_close()  # nothing listens on the port any more
    _http_feature(ws, service.url)
    assert ws.doit().returncode == 0
    assert ws.devloop("deployed", "a", "--version", "v1").returncode == 0
    r = ws.doit("smoke")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "smoke:a FAILED: smoke failed against deploy #1" in r.stdout
    assert "triage waits for a person" in r.stdout
    (run,) = _runs(ws)
    assert "ERROR health (http)" in (run / "smoke.log").read_text()
    assert json.loads((run / "result.json").read_text())["counts"]["errors"] == 1


def test_doit_continue_smoke_verifies_every_feature_and_exits_1_for_the_failed_one(ws: WS, tmp_path: Path) -> None:
    """One feature's failed smoke makes the run red; with doit's --continue the others are still verified.

    (Without it doit stops at the first failed task, as it does for any step.)
    """
    probes_a, _ = _script_feature(ws, tmp_path, "a")
    probes_b, flag_b = _script_feature(ws, tmp_path, "b")
    flag_b.write_text("up\n")
    assert ws.doit().returncode == 0
    for f in ("a", "b"):
        assert ws.devloop("deployed", f, "--version", "v1").returncode == 0
    r = ws.doit("--continue", "smoke:a", "smoke:b")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Step: smoke:a FAILED: smoke failed against deploy #1" in r.stdout
    assert "Step: smoke:b\n" in r.stdout
    assert _probes(probes_a) == 1 and _probes(probes_b) == 1
    r = ws.doit("smoke")  # every feature: b passed and is not run again; a's failure keeps the run red
    assert r.returncode == 1 and "smoke:a FAILED" in r.stdout and "smoke:b" not in r.stdout
    assert _probes(probes_a) == 1 and _probes(probes_b) == 1
