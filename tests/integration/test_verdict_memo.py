"""The no-op `doit` answers from the verdict memo, and the memo never hides a change (real doit, real files)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from devloop.provenance.lockfile import read_lock
from devloop.provenance.verdicts import FILE
from tests.conftest import WS


def age(root: Path) -> None:
    """Every file and folder last modified 10 s ago, then a pause: settled by mtime and ctime, stats prove content."""
    then = time.time_ns() - 10_000_000_000
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.utime(os.path.join(folder, name), ns=(then, then), follow_symlinks=False)
    os.utime(root, ns=(then, then))
    time.sleep(2.2)  # utime cannot set the ctime back: wait until every ctime is settled too


def modules_of_noop(ws: WS) -> set[str]:
    r = ws.run([sys.executable, "-X", "importtime", "-m", "doit"])
    assert r.returncode == 0 and "Everything is up to date" in r.stdout, r.stdout + r.stderr
    return {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}


def built(ws: WS) -> None:
    ws.add_feature("a")
    ws.add_feature("b")
    r = ws.doit()
    assert r.returncode == 0 and "FAILED" not in r.stdout, r.stdout + r.stderr
    age(ws.root)


def test_an_up_to_date_doit_answers_from_the_memo_without_reading_a_lock_or_the_steps(ws: WS) -> None:
    built(ws)
    first = modules_of_noop(ws)  # the memo has no answer yet: the locks' proofs give them, and they are kept
    assert "devloop.provenance.proof" in first and "devloop.loop.engine" not in first
    memo = json.loads((ws.root / ".devloop" / FILE).read_text())
    assert {"a:plan", "a:code_review", "b:evaluate"} <= set(memo["entries"])
    second = modules_of_noop(ws)
    assert not {"devloop.loop.engine", "devloop.provenance.lockfile", "devloop.steps.registry"} & second
    assert not {m for m in second if m.split(".")[0] in ("yaml", "pydantic", "jinja2", "rich", "google")}
    r = ws.devloop("status")
    assert r.returncode == 0 and "stale" not in r.stdout, r.stdout


def test_an_edit_that_keeps_size_and_mtime_is_still_adopted_and_runs_what_follows(ws: WS) -> None:
    built(ws)
    assert "Everything is up to date" in ws.doit().stdout  # the memo is full now
    n = len(ws.calls())
    plan = ws.root / "plans/a/plan.md"
    st = plan.stat()
    data = plan.read_bytes()
    plan.write_bytes(data[:-1] + (b"!" if data[-1:] != b"!" else b"?"))
    os.utime(plan, ns=(st.st_atime_ns, st.st_mtime_ns))  # cp -p, rsync -t: the old mtime put back
    r = ws.doit()
    assert "plan:a (hand edit adopted, no agent called)" in r.stdout, r.stdout
    assert {s for f, s, _ in ws.calls_since(n)} >= {"plan_review", "code_review"}
    assert {f for f, _, _ in ws.calls_since(n)} == {"a"}


def test_an_edited_source_file_of_the_change_voids_the_code_review_answer(ws: WS) -> None:
    built(ws)
    assert "Everything is up to date" in ws.doit().stdout
    n = len(ws.calls())
    lock = read_lock(ws.root / "plans/a/devloop.lock", "a")
    impl = next(p for p in lock.outputs("implement") if not p.startswith(("plans/", "scripts/")))
    (ws.root / impl).write_text((ws.root / impl).read_text() + "# changed\n")
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert ("a", "code_review") in {(f, s) for f, s, _ in ws.calls_since(n)}


def test_a_fresh_copy_without_the_memo_calls_no_agent_and_a_deleted_memo_costs_nothing_but_time(ws: WS) -> None:
    built(ws)
    assert "Everything is up to date" in ws.doit().stdout
    n = len(ws.calls())
    (ws.root / ".devloop" / FILE).write_text("{not json")
    assert "Everything is up to date" in ws.doit().stdout
    shutil.rmtree(ws.root / ".devloop")
    assert "Everything is up to date" in ws.doit().stdout
    assert len(ws.calls()) == n


def test_a_change_of_what_git_ignores_for_the_user_is_never_hidden_by_the_memo(tmp_path: Path) -> None:
    """git's global and XDG ignore files: with paths: they change the change set, and doit runs code review."""
    from tests.loopws import LoopWS

    lw = LoopWS.create(tmp_path)
    lw.config(extra="features:\n  a: {paths: ['src/**']}\n")
    lw.write("src/other.py", "x = 1\n")
    assert "Step: code_review:a" in lw.doit().stdout
    age(lw.root)
    lw.doit()
    entries = json.loads((lw.root / ".devloop" / FILE).read_text())["entries"]
    assert "a:implement" in entries and "a:code_review" not in entries  # paths: match anywhere: never kept
    ignore = Path(lw.env["HOME"]) / ".config/git/ignore"
    ignore.parent.mkdir(parents=True)
    ignore.write_text("src/other.py\n")
    assert lw.status()["a"]["code_review"]["state"] == "stale"
    n = len(lw.calls())
    r = lw.doit()
    assert "Step: code_review:a\n" in r.stdout, r.stdout
    assert any(step == "code_review" for _, step, _ in lw.calls_since(n))


def test_without_paths_the_memo_of_code_review_rests_on_git_s_user_files(tmp_path: Path) -> None:
    from tests.loopws import LoopWS

    lw = LoopWS.create(tmp_path)
    lw.run(["git", "config", "--global", "core.excludesFile", "~/my-ignores"])
    lw.doit()
    age(lw.root)
    lw.doit()
    memo = json.loads((lw.root / ".devloop" / FILE).read_text())
    deps = {memo["paths"][i] for i in memo["entries"]["a:code_review"][1]}
    home = lw.env["HOME"]
    assert {f"{home}/.gitconfig", f"{home}/.config/git/ignore", f"{home}/my-ignores"} <= deps
