"""A repository that already has a dodo.py adopts devloop with one command; its own tasks keep doit's output."""

from __future__ import annotations

from tests.conftest import WS

USER_DODO = '''DOIT_CONFIG = {"default_tasks": ["hello"], "verbosity": 2}


def task_hello():
    """Say hello."""
    return {"actions": ["echo hello-from-the-user"], "verbosity": 2}
'''


def _repo(tmp_path) -> WS:
    root = tmp_path / "repo"
    root.mkdir()
    ws = WS(root, tmp_path)
    assert ws.git("init", "-q").returncode == 0
    (root / "dodo.py").write_text(USER_DODO)
    return ws


def test_init_in_a_doit_project_appends_two_lines_and_keeps_the_users_tasks(tmp_path) -> None:
    ws = _repo(tmp_path)
    r = ws.devloop("init")
    assert r.returncode == 0, r.stderr
    assert "added devloop's tasks to dodo.py (your tasks are kept)" in r.stdout
    text = ws.read("dodo.py")
    assert text.startswith(USER_DODO.rstrip("\n")) and text.rstrip().endswith("devloop_setup(globals())")
    assert (ws.root / "devloop.yaml").is_file()

    r = ws.doit("hello")  # the user's task: doit's own output, not devloop's
    assert r.returncode == 0, r.stdout + r.stderr
    assert ".  hello" in r.stdout and "hello-from-the-user" in r.stdout
    assert "No features yet" not in r.stdout and "Step:" not in r.stdout

    ws.config()
    ws.add_feature("a")
    r = ws.doit()  # default tasks joined: the user's first, then the loop
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hello-from-the-user" in r.stdout and "Step: plan:a" in r.stdout
    assert "Step: evaluate:a" in r.stdout
    assert ws.devloop("init").returncode == 3  # devloop.yaml exists now: refused, nothing touched
    assert ws.read("dodo.py") == text


def test_init_print_changes_no_dodo_py(tmp_path) -> None:
    ws = _repo(tmp_path)
    r = ws.devloop("init", "--print")
    assert r.returncode == 0, r.stderr
    assert "Add these lines at the end of" in r.stdout and "devloop_setup(globals())" in r.stdout
    assert ws.read("dodo.py") == USER_DODO
    assert (ws.root / "devloop.yaml").is_file()


def test_a_conflicting_doit_config_key_is_said_once(tmp_path) -> None:
    ws = _repo(tmp_path)
    (ws.root / "dodo.py").write_text(USER_DODO.replace('"verbosity": 2}', '"verbosity": 2, "dep_file": ".mydb"}', 1))
    assert ws.devloop("init").returncode == 0
    r = ws.doit("hello")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "DOIT_CONFIG['dep_file'] is set by devloop (it needs its own); yours is not used" in r.stderr


def test_commands_outside_a_workspace_say_so_and_exit_3(tmp_path) -> None:
    ws = WS(tmp_path / "nowhere", tmp_path)
    ws.root.mkdir()
    for args in (("status",), ("new", "a", "Build a"), ("doctor",), ("why", "a")):
        r = ws.devloop(*args)
        assert r.returncode == 3, (args, r.stdout, r.stderr)
        assert "is not inside a devloop workspace (no devloop.yaml here or above); run devloop init" in r.stderr
    assert not (ws.root / "plans").exists()  # nothing written


def test_devloop_and_doit_work_from_any_subfolder(ws: WS) -> None:
    ws.add_feature("a")
    deep = ws.root / "src" / "pkg"
    deep.mkdir(parents=True)
    import subprocess
    import sys

    from tests.conftest import BIN

    r = subprocess.run([str(BIN / "devloop"), "status"], cwd=deep, env=ws.env, capture_output=True, text=True)
    assert r.returncode == 0 and "a" in r.stdout, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "doit", "-k", "list"], cwd=deep, env=ws.env, capture_output=True, text=True
    )
    assert r.returncode == 0 and "plan" in r.stdout, r.stderr
    seek = {**ws.env, "DOIT_SEEK_FILE": "1"}  # what the README suggests for plain `doit`
    r = subprocess.run([sys.executable, "-m", "doit"], cwd=deep, env=seek, capture_output=True, text=True)
    assert r.returncode == 0 and "Step: plan:a" in r.stdout, r.stdout + r.stderr
