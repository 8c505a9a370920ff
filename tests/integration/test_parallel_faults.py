"""A dead parallel run never wedges the workspace (issue 12, item 4), and temp files never outlive a run.

Real ``doit -n 4`` processes, real agent subprocesses (tests/fakes/loop_agent.py),
killed with SIGKILL as a crashed terminal or an OOM killer would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopws import LoopWS
from tests.polling import wait_until

FEATURES = ("a", "b", "c", "d")


@pytest.fixture
def lws(tmp_path: Path) -> LoopWS:
    return LoopWS.create(tmp_path, features=FEATURES)


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def undisturbed(pid: int) -> bool:
    """Asleep with no signal pending: nothing is on its way to end the process (False once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return False
    status = dict(line.split(":", 1) for line in lines if ":" in line)
    asleep = status["State"].split()[0] == "S"
    return asleep and int(status["SigPnd"], 16) == 0 and int(status["ShdPnd"], 16) == 0


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp") if ".git" not in p.parts]


def test_kill_9_of_doit_n_4_leaves_a_workspace_the_next_run_takes_over(lws):
    lws.control(modes={"plan": "slow"}, sleep=120)
    proc = lws.start_doit("-n", "4")
    try:
        assert wait_until(lambda: len(lws.live_agents()) == 4), f"four planners never ran: {lws.live_agents()}"
        workers = children_of(proc.pid)
        assert len(workers) >= 4, f"doit -n 4 started {workers}"
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer does
        proc.communicate(timeout=30)
        # Its workers die with it, and stop their agents on the way out.
        assert wait_until(lambda: not any(alive(w) for w in workers)), "workers outlived their killed parent"
        assert wait_until(lambda: not lws.live_agents()), f"agents outlived the run: {lws.live_agents()}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)

    lws.control()  # agents answer at once now
    r = lws.doit("-n", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"taking over the workspace lock of pid {proc.pid}, which is no longer running" in r.stderr
    assert "No features yet" not in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    for f in FEATURES:
        assert lws.lock(f).steps["deploy_review"].state == "done", r.stdout  # all the way to the deploy
    assert not temp_files(lws.root)


@pytest.mark.parametrize("progressed", [False, True], ids=["fresh", "progressed"])
def test_a_busy_workspace_answers_doit_n_4_at_once(lws, progressed):
    """Also when the busy run's first tasks are up to date (doit has forked workers by the time it finds work)."""
    if progressed:
        assert lws.doit().returncode == 0
        assert lws.devloop("redo", "d", "code_review").returncode == 0
    lws.control(modes={"plan": "slow", "code_review": "slow"}, sleep=120)
    first = lws.start_doit(*(["code_review:d"] if progressed else []))
    try:
        assert lws.wait_for_agent(), "the first run never started its agent"
        r = lws.doit("-n", "4")  # the harness gives up (TimeoutExpired) if this hangs
        assert r.returncode == 4, r.stdout + r.stderr
        assert f"another devloop or doit run (pid {first.pid})" in r.stderr
        assert "Traceback" not in r.stderr
        assert first.poll() is None, "the busy answer disturbed the run that holds the lock"
        r = lws.devloop("run", "-n", "2")
        assert r.returncode == 4, r.stdout + r.stderr
    finally:
        lws.interrupt(first)
    assert wait_until(lambda: not lws.live_agents())


def test_temp_files_of_dead_writers_are_swept_and_nothing_else(lws):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    plans = lws.root / "plans" / "a"
    leftovers = [
        plans / f".devloop.lock.devloop-{dead.pid}-abcd1234.tmp",  # named by a writer that was killed
        plans / ".devloop.lock.x1y2z3w4.tmp",  # an older devloop's unnamed temp file of a lock
        lws.root / ".devloop" / "state" / ".cache.json.q9w8e7r6.tmp",
    ]
    kept = [
        lws.root / "notes.tmp",  # the user's own
        lws.root / "src" / f".data.devloop-{os.getpid()}-abcd1234.tmp",  # a writer that is still running
        lws.root / "src" / ".data.x1y2z3w4.tmp",  # unnamed, and not devloop's file: not ours to remove
    ]
    for p in leftovers + kept:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("half")
    (lws.root / ".devloop" / "workspace.lock").write_text(f"{dead.pid}\n")  # its run died holding the lock
    r = lws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p for p in leftovers if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []


def test_after_a_clean_run_only_devloops_state_folder_is_swept(lws):
    """Writers outside .devloop/ hold the workspace lock, and a clean exit clears its PID: no walk of the tree."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert lws.doit().returncode == 0
    cache = lws.root / ".devloop" / f".verdicts.json.devloop-{dead.pid}-abcd1234.tmp"
    elsewhere = lws.root / "plans" / "a" / f".note.md.devloop-{dead.pid}-abcd1234.tmp"
    for p in (cache, elsewhere):
        p.write_text("half")
    lws.write("plans/a/brief.md", lws.read("plans/a/brief.md") + "\nOne more thing.\n")  # something to run
    r = lws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert not cache.exists() and elsewhere.exists()


def test_the_answer_store_is_swept_by_cache_gc_not_by_each_run(lws):
    """The local answer store holds thousands of files at scale: a clean run's sweep does not walk it."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert lws.doit().returncode == 0
    shard = lws.root / ".devloop" / "cache" / "entries" / "ab"
    shard.mkdir(parents=True, exist_ok=True)
    leftover = shard / f".ab12.devloop-{dead.pid}-abcd1234.tmp"
    running = shard / f".ab34.devloop-{os.getpid()}-abcd1234.tmp"  # a writer still at work
    for p in (leftover, running):
        p.write_text("half")
    lws.write("plans/a/brief.md", lws.read("plans/a/brief.md") + "\nOne more thing.\n")
    r = lws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert leftover.exists()
    r = lws.devloop("cache", "gc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not leftover.exists() and running.exists()


def test_a_run_without_the_lock_sweeps_nothing(lws):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = lws.root / "plans" / "a" / f".devloop.lock.devloop-{dead.pid}-abcd1234.tmp"
    leftover.write_text("half")
    for argv in (["status"], ["why", "a"], ["graph"]):
        r = lws.devloop(*argv)
        assert r.returncode == 0, r.stderr
    assert leftover.exists()  # sweeping is the lock holder's job; reading commands hold none


def test_under_bubblewrap_an_agent_dies_with_doit_even_after_kill_9(tmp_path):
    """bwrap --die-with-parent: the kernel ends the sandbox when doit dies, handler or not."""
    lws = LoopWS.create(tmp_path, features=("a",))
    lws.config(extra="sandbox: bubblewrap\n")
    lws.control(modes={"plan": "slow"}, sleep=120)
    proc = lws.start_doit()
    try:
        assert wait_until(lambda: len(lws.live_agents()) == 1), "the planner never ran"
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert wait_until(lambda: lws.live_agents() == []), "the agent outlived doit"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)


def test_an_agent_left_by_kill_9_of_a_plain_doit_is_ended_before_the_next_run_starts_one(tmp_path):
    """kill -9 runs no handler: an unconfined agent (its own process group) survives; the next run ends it first."""
    lws = LoopWS.create(tmp_path, features=("a",))
    lws.config(extra="sandbox: off\n")
    lws.control(modes={"plan": "slow"}, sleep=120)
    proc = lws.start_doit()
    try:
        assert wait_until(lambda: len(lws.live_agents()) == 1), "the planner never ran"
        [agent] = lws.live_agents()
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        # Whatever ends a process with its parent (PR_SET_PDEATHSIG, bwrap --die-with-parent) is sent as the
        # parent exits, before it can be reaped: from here the agent is either on its way out (a signal pending
        # or being acted on) or asleep with nothing pending. Wait for it to be gone or undisturbed, not a pause.
        settled = wait_until(lambda: not alive(agent) or undisturbed(agent), timeout=10)
        assert settled, "the agent neither died nor went back to sleep"
        assert alive(agent), "the agent died with doit: nothing left for this test to check"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    lws.control()  # agents answer at once now
    calls = len(lws.calls())
    r = lws.doit()
    assert "left running by an earlier run" in r.stderr, r.stderr
    assert not alive(agent)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(lws.calls()) > calls  # the step then ran with a new agent
    assert not list((lws.root / ".devloop" / "groups").glob("*.json"))  # nothing left recorded
