"""A person implementing two features at once (issue 24, item 5): each file counts for one feature only."""

from __future__ import annotations

import json

import yaml

from tests.conftest import BIN, WS


def _both_waiting(ws: WS, extra: str = "") -> None:
    ws.config(extra=extra, implementer="me")
    ws.add_feature("a")
    ws.add_feature("b")
    r = ws.doit()
    for f in ("a", "b"):
        assert f"Next: write plans/{f}/deviations.md, scripts/smoke/{f}.sh" in r.stdout, r.stdout + r.stderr


def _answer(ws: WS, f: str) -> None:
    (ws.root / f"plans/{f}/deviations.md").write_text("No deviations.\n")
    (ws.root / "scripts/smoke").mkdir(parents=True, exist_ok=True)
    (ws.root / f"scripts/smoke/{f}.sh").write_text("#!/bin/sh\nexit 0\n")


def _code(ws: WS, f: str) -> list[str]:
    return yaml.safe_load(ws.read(f"plans/{f}/devloop.lock"))["steps"]["implement"]["outputs"]


def test_a_file_changed_while_both_wait_is_asked_about_then_counted_once(ws: WS) -> None:
    _both_waiting(ws)
    (ws.root / "src").mkdir()
    (ws.root / "src/shared.py").write_text("SHARED = 1\n")
    (ws.root / "src/only_a.py").write_text("A = 1\n")
    _answer(ws, "a")
    _answer(ws, "b")
    r = ws.doit("implement:a", "implement:b")
    assert "Next: devloop claim a src/only_a.py src/shared.py  (or claim any of them for b" in r.stdout, r.stdout
    assert "Next: devloop claim b src/only_a.py src/shared.py  (or claim any of them for a" in r.stdout
    status = json.loads(ws.devloop("status", "--json").stdout)
    assert status["a"]["implement"]["state"] == "waiting"
    assert "devloop claim a" in ws.devloop("why", "a").stdout
    assert ws.devloop("claim", "a", "src/only_a.py").returncode == 0
    r = ws.run([str(BIN / "devloop"), "claim", "b", "shared.py"], cwd=ws.root / "src")  # from a subfolder
    assert r.returncode == 0, r.stdout + r.stderr
    assert "src/shared.py counted as b's work" in r.stdout
    r = ws.doit("implement:a", "implement:b")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "src/shared.py" in _code(ws, "b") and "src/shared.py" not in _code(ws, "a")
    assert "src/only_a.py" in _code(ws, "a") and "src/only_a.py" not in _code(ws, "b")


def test_paths_decide_without_asking(ws: WS) -> None:
    _both_waiting(ws, extra="features:\n  b: {paths: ['lib/**']}\n")
    (ws.root / "lib").mkdir()
    (ws.root / "lib/b_code.py").write_text("B = 1\n")
    _answer(ws, "a")
    _answer(ws, "b")
    r = ws.doit("implement:a", "implement:b")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "claim" not in r.stdout
    assert "lib/b_code.py" in _code(ws, "b") and "lib/b_code.py" not in _code(ws, "a")


def test_fix_rounds_of_two_features_take_each_feature_s_own_code_without_asking(tmp_path) -> None:
    """A file already in one feature's change is that feature's: each fix round takes the file Next: named for it."""
    from tests.loopws import LoopWS

    lw = LoopWS.create(tmp_path, features=("a", "b"))
    lw.config(implementer="me")
    lw.control(modes={"code_review/reviewers": "needs_work"})
    lw.doit()
    for f in ("a", "b"):
        lw.write(f"src/{f}.py", "print('hello')\n")
        lw.write(f"plans/{f}/deviations.md", "No deviations.\n")
        lw.write(f"scripts/smoke/{f}.sh", "#!/bin/sh\nexit 0\n")
        assert lw.devloop("claim", f, f"src/{f}.py").returncode == 0
    r = lw.doit()
    for f in ("a", "b"):
        assert f"Next: revise src/{f}.py, plans/{f}/deviations.md (prompt:" in r.stdout, r.stdout
    lw.control()
    for f in ("a", "b"):
        lw.write(f"src/{f}.py", f"import logging\nlogging.info('hello {f}')\n")  # as each Next: said
    r = lw.doit()
    assert "devloop claim" not in r.stdout, r.stdout
    for f in ("a", "b"):
        assert f"Step: code_review:{f}\n" in r.stdout, r.stdout
        assert lw.lock(f).steps["code_review"].data["cycles"] == 2
        assert lw.lock(f).steps["code_review"].attempt is None


def test_a_file_another_feature_saw_as_it_is_now_is_not_its_rival_after_a_mere_touch(ws: WS) -> None:
    """b's prompt was written after the person wrote src/shared.py: a later touch changes its stat, not what b saw."""
    import os

    ws.config(implementer="me")
    ws.add_feature("a")
    r = ws.doit()
    assert "Next: write plans/a/deviations.md, scripts/smoke/a.sh" in r.stdout, r.stdout + r.stderr
    (ws.root / "src").mkdir()
    (ws.root / "src/shared.py").write_text("SHARED = 1\n")  # written while only a waits
    ws.add_feature("b")
    r = ws.doit("implement:b")
    assert "Next: write plans/b/deviations.md, scripts/smoke/b.sh" in r.stdout, r.stdout + r.stderr
    st = os.stat(ws.root / "src/shared.py")
    os.utime(ws.root / "src/shared.py", ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))  # touched: same bytes
    _answer(ws, "a")
    r = ws.doit("implement:a")
    assert r.returncode == 0 and "claim" not in r.stdout, r.stdout + r.stderr
    assert "src/shared.py" in _code(ws, "a")
