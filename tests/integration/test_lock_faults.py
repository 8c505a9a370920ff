"""A devloop.lock devloop did not write is one clear error, never a reset (issue 12, item 7).

Each case runs the real ``doit`` and ``devloop status`` on a workspace whose
lock was damaged: exit 3, one line naming the file (and the line when known),
no traceback, no ``No features yet``, the file left byte for byte, and no
agent called.
"""

from __future__ import annotations

import pytest

CASES = {
    "yaml": (b"version: 2\nfeature: hello\nsteps: {plan: [\n", "plans/hello/devloop.lock:", "not valid YAML"),
    "utf8": (b"version: 2\nfeature: hello\n# \xff\xfe broken\n", "plans/hello/devloop.lock:3", "not UTF-8"),
    "steps list": (
        b"version: 2\nfeature: hello\nsteps: [1, 2]\n",
        "plans/hello/devloop.lock:3",
        "steps: expected a mapping",
    ),
    "outputs": (
        b"version: 2\nfeature: hello\nsteps:\n  plan:\n    state: done\n    outputs: plans/hello/plan.md\n",
        "plans/hello/devloop.lock:6",
        "steps.plan.outputs: expected a list",
    ),
    "version": (b"version: 7\nfeature: hello\n", "plans/hello/devloop.lock:1", "version: 7"),
    "not a mapping": (b"- just\n- a list\n", "plans/hello/devloop.lock:1", "instead of a mapping"),
    "no version": (b"feature: hello\nsteps: {}\n", "plans/hello/devloop.lock", "no version field"),
}


@pytest.fixture
def started(ws):
    ws.add_feature("hello")
    r = ws.doit("plan:hello")
    assert r.returncode == 0, r.stdout + r.stderr
    return ws


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_lock_is_one_clear_error_and_stays_as_it_is(started, case):
    ws = started
    content, where, what = CASES[case]
    path = ws.root / "plans" / "hello" / "devloop.lock"
    path.write_bytes(content)
    n = len(ws.calls())
    for argv in (["doit"], ["devloop", "status"], ["devloop", "why", "hello"]):
        r = ws.doit() if argv == ["doit"] else ws.devloop(*argv[1:])
        out = r.stdout + r.stderr
        assert r.returncode == 3, f"{argv}: {out}"
        assert "Traceback" not in out
        assert "No features yet" not in out
        errors = [line for line in r.stderr.splitlines() if "devloop.lock" in line]
        assert len(errors) == 1, f"{argv}: {r.stderr}"
        assert where in errors[0] and what in errors[0], errors[0]
        assert "restore it from git" in errors[0]
        assert path.read_bytes() == content, f"{argv} touched the damaged lock"
    assert ws.calls()[n:] == []


def test_after_restoring_the_lock_nothing_is_asked_again(started):
    ws = started
    path = ws.root / "plans" / "hello" / "devloop.lock"
    good = path.read_bytes()
    path.write_bytes(b"version: 2\nfeature: hello\nsteps: [1, 2]\n")
    assert ws.doit().returncode == 3
    path.write_bytes(good)
    n = len(ws.calls())
    r = ws.doit("plan:hello")
    assert r.returncode == 0, r.stderr
    assert ws.calls()[n:] == []  # the plan recorded before the damage is still up to date
