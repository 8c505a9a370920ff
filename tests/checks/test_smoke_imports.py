"""A whole `doit smoke` whose checks are all commands imports neither pydantic nor google, rich or matplotlib.

Asserted on what the process imported (``-X importtime``), never on time.
jinja2 is expected: every check's expression runs in its sandbox.
"""

from __future__ import annotations

import sys

from tests.conftest import WS, happy_script

VALIDATION = """# Checks

```yaml devloop
smoke:
  - name: feature_named
    command: {argv: [sh, -c, 'echo "$DEVLOOP_FEATURE $DEVLOOP_VERSION"']}
    expect: stdout | trim == 'a v1'
  - name: script_present
    command: {argv: [test, -x, scripts/smoke/a.sh], timeout: 10s}
    expect: exit_code == 0
rollback_triggers:
  - name: errors
    command: {argv: [sh, -c, 'cat errors.txt 2>/dev/null || echo 0']}
    fire_when: stdout | trim | int > 5
monitoring: {duration: 2s, interval: 1s}
```
"""

HEAVY = ("pydantic", "pydantic_core", "google", "rich", "matplotlib")


def imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def test_doit_smoke_with_command_checks_only_imports_no_pydantic(ws: WS) -> None:
    ws.add_feature("a")
    plan = {"write": {"plans/a/plan.md": "# Plan\nDo it.\n", "plans/a/validation.md": VALIDATION}}
    ws.set_script(
        {**happy_script("a"), "a/plan/plan": plan, "a/plan_review/round1-review": {"answer": "VERDICT: APPROVE\n"}}
    )
    assert ws.doit().returncode == 0
    assert ws.devloop("deployed", "a", "--version", "v1").returncode == 0

    r = ws.run([sys.executable, "-X", "importtime", "-m", "doit", "smoke"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Step: smoke:a\n" in r.stdout
    log = next((ws.root / "runs" / "a").glob("2*/smoke.log")).read_text()
    assert "PASS feature_named (command) stdout | trim == 'a v1' | actual: exit_code=0" in log
    assert "PASS script_present (command) exit_code == 0" in log
    assert "not fired errors (command)" in log and "# result: PASS" in log
    modules = imported(r.stderr)
    assert "jinja2" in modules and "devloop" in modules  # the parse above really saw the imports
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_an_invalid_command_check_still_fails_closed_naming_the_field(ws: WS) -> None:
    """The light path leaves every mistake to the models: the plan step refuses the block with their words."""
    ws.add_feature("a")
    bad = VALIDATION.replace("timeout: 10s", "timeout: soon")
    plan = {"write": {"plans/a/plan.md": "# Plan\nDo it.\n", "plans/a/validation.md": bad}}
    ws.set_script({**happy_script("a"), "a/plan/plan": plan})
    r = ws.doit()
    assert (
        "Step: plan:a FAILED: the post-deploy check block is invalid: plans/a/validation.md (block at line 3): "
        "smoke.1.command.timeout (script_present): 'soon' is not a duration; write it like 30s, 10m, 1h or 1h30m"
    ) in r.stdout, r.stdout
