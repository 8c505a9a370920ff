"""A broken devloop.yaml never breaks the user's own doit tasks; devloop's tasks report the one error (exit 3)."""

from __future__ import annotations

import shutil

from tests.conftest import WS
from tests.integration.test_safety import files

USER_DODO = '''def task_hello():
    """Say hello."""
    return {"actions": ["echo hello-from-the-user"], "verbosity": 2}


from devloop.tasks import setup as devloop_setup  # noqa: E402

devloop_setup(globals())
'''

ERROR = "devloop.yaml: line 2: roles.planer: not a setting; did you mean planner?"


def _broken(ws: WS) -> None:
    ws.add_feature("a")
    shutil.rmtree(ws.root / ".devloop", ignore_errors=True)  # as in a fresh clone
    (ws.root / "dodo.py").write_text(USER_DODO)
    (ws.root / "devloop.yaml").write_text("roles:\n  planer: me\n")


def test_the_users_tasks_list_and_run_with_a_typo_in_devloop_yaml(ws: WS) -> None:
    _broken(ws)
    listed = ws.doit("list")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert "hello" in names and "plan" in names  # devloop's tasks are listed, off
    assert ERROR in listed.stderr and "Extra inputs" not in listed.stderr
    hello = ws.doit("hello")
    assert hello.returncode == 0, hello.stderr
    assert "hello-from-the-user" in hello.stdout
    assert ERROR in hello.stderr and "your own tasks run" in hello.stderr
    assert ws.calls() == []
    assert not (ws.root / "plans/a/devloop.lock").exists()  # no step of devloop's ran


def test_devloop_tasks_asked_for_report_the_error_and_touch_nothing(ws: WS) -> None:
    _broken(ws)
    before = files(ws)
    for args in ((), ("plan:a",), ("plan",), ("smoke",), ("smoke:a",), ("plans/a/plan.md",), ("info", "plan:a")):
        r = ws.doit(*args)
        assert r.returncode == 3, (args, r.stdout, r.stderr)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].endswith(ERROR), (args, r.stderr)
        assert "Traceback" not in r.stderr and "hello-from-the-user" not in r.stdout
        assert files(ws) == before, args  # no .devloop/ state, no lock, no prompt
    assert not (ws.root / ".devloop").exists()
    for args in (("list",), ("info", "hello"), ("help", "plan")):  # read-only commands on the user's side
        r = ws.doit(*args)
        assert r.returncode in (0, 1) and ERROR in r.stderr, (args, r.stderr)  # info: 1 = "hello" would run
        assert files(ws) == before, args
    st = ws.devloop("status")
    assert st.returncode == 3 and ERROR in st.stderr
    assert files(ws) == before
    assert ws.calls() == []


def test_once_fixed_the_loop_runs_again(ws: WS) -> None:
    _broken(ws)
    assert ws.doit("hello").returncode == 0
    ws.config()
    r = ws.doit("plan:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (ws.root / "plans/a/plan.md").is_file() and "devloop.yaml" not in r.stderr
