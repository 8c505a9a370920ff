"""Local gates: each gate's whole output is stored, its last 30 lines are shown, and the implementer gets
``steps.implement.gate_retries`` more tries with that output before the step fails."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import WS

CHECK = """import pathlib, sys
text = pathlib.Path("src/a.py").read_text()
for i in range(40):
    print(f"checking line {i}")
if "FIXED" not in text:
    print("src/a.py:1: E999 GATE-FAILURE-MARK the value is not FIXED", file=sys.stderr)
    sys.exit(1)
print("all good")
"""


def _setup(ws: WS, retries: int | None = None) -> None:
    policy = f", gate_retries: {retries}" if retries is not None else ""
    ws.config(extra=f"steps:\n  implement: {{gates: [[{sys.executable}, check.py]]{policy}}}\n")
    (ws.root / "check.py").write_text(CHECK)
    ws.add_feature("a")


def test_a_failing_gate_gets_one_more_try_with_its_output_then_passes(ws: WS) -> None:
    _setup(ws)
    ws.set_script({**ws.script, "a/implement/gate-fix1": {"write": {"src/a.py": "print('FIXED')\n"}}})
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert [c[2] for c in ws.calls_since(0) if c[:2] == ("a", "implement")] == ["implement", "gate-fix1"]
    prompt = (ws.log.parent / "prompt-a-implement-gate-fix1.txt").read_text()
    assert "GATE-FAILURE-MARK" in prompt and "checking line 39" in prompt
    assert "checking line 5\n" not in prompt  # the last 30 lines, not the whole output
    logs = sorted((ws.root / "runs" / "a" / "gates").glob("*.log"))
    program = Path(sys.executable).name
    names = {p.name.split("-", 2)[2] for p in logs}
    assert {f"implement-{program}.log", f"gate-fix1-{program}.log"} <= names
    first = next(p for p in logs if "-implement-" in p.name).read_text()
    assert "checking line 0" in first and "GATE-FAILURE-MARK" in first  # the whole output is stored
    reviews = ws.read("plans/a/reviews.md")
    assert "passed" in reviews


def test_a_gate_still_failing_after_the_retries_fails_the_step_naming_its_log(ws: WS) -> None:
    _setup(ws)
    ws.set_script({**ws.script, "a/implement/gate-fix1": {"write": {"src/a.py": "print('still wrong')\n"}}})
    r = ws.doit()
    assert r.returncode != 0
    assert "local gate failed:" in r.stdout and "E999 GATE-FAILURE-MARK" in r.stdout
    assert "(output: runs/a/gates/" in r.stdout and "still failing after 1 more try" in r.stdout
    prompt = (ws.log.parent / "prompt-a-implement-gate-fix1.txt").read_text()
    assert "GATE-FAILURE-MARK" in prompt


def test_no_retries_when_set_to_zero(ws: WS) -> None:
    _setup(ws, retries=0)
    r = ws.doit()
    assert r.returncode != 0 and "local gate failed:" in r.stdout
    assert [c[2] for c in ws.calls_since(0) if c[:2] == ("a", "implement")] == ["implement"]
