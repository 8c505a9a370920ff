"""Crash safety: kill -9 of devloop at points spread over a whole loop, each followed by a re-run.

The loop: ``doit`` (plan, plan review, implement, a two-reviewer code review
that fans out, evaluation waits), ``devloop deployed``, ``doit smoke`` (a
script and command checks), ``doit`` (evaluation). Every agent call and
every file it writes takes a moment, so kills land during calls, between a
write and its record, and mid fan-out.

For each kill point: a fresh workspace runs the loop up to the point, the
running command's main process gets SIGKILL (as an OOM killer sends it), and
the loop is run again from that command to the end. Checked after each:

- every lock parses, right after the kill and at the end;
- nothing is partial: no temp file is left, every artifact the lock records
  matches its hash;
- no finished answer is asked for again: a call recorded as done (its step
  finished, or journaled in its attempt) is never made again;
- the end state equals an uninterrupted run's (the artifacts' text).

In CI a few points run (``DEVLOOP_CRASH_POINTS``, default 4); on demand::

    python -m tests.crash_harness 40
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devloop.provenance.hashing import hash_file
from devloop.provenance.lockfile import read_lock
from tests.conftest import WS, happy_script
from tests.goldens import masked

VALIDATION = """# Checks

```yaml devloop
smoke:
  - name: live
    command: {argv: [sh, -c, "echo up"]}
    expect: "'up' in stdout"
rollback_triggers:
  - name: errors
    command: {argv: [sh, -c, "echo 0"]}
    fire_when: stdout | trim | int > 5
```
"""
PACE = 0.15  # seconds each agent waits before and after writing: kills land inside calls
COMPARED = ("plans/a", "src", "scripts/smoke")
VOLATILE = ("devloop.lock", "report.md")


def phases(ws: WS) -> list[list[str]]:
    doit = [sys.executable, "-m", "doit"]
    devloop = [str(Path(sys.executable).parent / "devloop")]
    return [doit, [*devloop, "deployed", "a", "--version", "v1"], [*doit, "smoke"], doit]


def prepare(root: Path) -> WS:
    """A fresh workspace with one feature, two reviewers and deterministic, slow-ish scripted agents."""
    root.mkdir(parents=True)
    ws = WS(root / "ws", root)
    ws.root.mkdir()
    assert ws.git("init", "-q").returncode == 0
    assert ws.devloop("init").returncode == 0
    ws.config(agents=("author", "judge", "judge2"), reviewers="[judge, judge2]", triage="judge")
    ws.add_feature("a")
    script = happy_script("a")
    script["a/plan/plan"]["write"]["plans/a/validation.md"] = VALIDATION
    script["a/code_review/round1-judge2"] = {"answer": "VOTE: PRODUCTION GRADE\n"}
    script["a/code_review/round2-judge2"] = {"answer": "VOTE: PRODUCTION GRADE\n"}
    for action in script.values():
        action["sleep"] = PACE
        if "write" in action:
            action["sleep_after_write"] = PACE
    ws.set_script(script)
    assert ws.git("add", "-A").returncode == 0 and ws.git("commit", "-qm", "workspace").returncode == 0
    return ws


def run_phase(ws: WS, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ws.root, env=ws.env, capture_output=True, text=True, timeout=300)


MEASURED = re.compile(
    r"^(agent_calls|agent_seconds|person_seconds|wall_seconds): .*$|## Time efficiency.*", re.M | re.S
)


def end_state(ws: WS) -> dict[str, str]:
    """The artifacts' text, with what devloop measures (times, call counts: a killed call counts) left out."""
    out = {}
    for top in COMPARED:
        for p in sorted((ws.root / top).rglob("*")):
            if p.is_file() and ".history" not in p.parts and p.name not in VOLATILE:
                out[p.relative_to(ws.root).as_posix()] = MEASURED.sub("", masked(p.read_text(errors="replace")))
    return out


def reference(tmp: Path) -> tuple[dict[str, str], list[float]]:
    """An uninterrupted loop: its end state and how long each command took."""
    ws = prepare(tmp / "reference")
    took = []
    for argv in phases(ws):
        start = time.monotonic()
        r = run_phase(ws, argv)
        took.append(time.monotonic() - start)
        assert r.returncode == 0, (argv, r.stdout, r.stderr)
    return end_state(ws), took


def calls(ws: WS) -> list[tuple[str, str, str]]:
    if not ws.log.exists():
        return []
    rows = [json.loads(line) for line in ws.log.read_text().splitlines() if line.strip()]
    return [(r["feature"], r["step"], r["call_id"]) for r in rows]


def finished_calls(ws: WS, made: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Calls the lock holds as done: every call of a finished step, and the journaled calls of an attempt."""
    lock = read_lock(ws.root / "plans/a/devloop.lock", "a")
    done = set()
    for step, rec in lock.steps.items():
        if rec.state == "done":
            done |= {c for c in made if c[1] == step}
        if rec.attempt is not None:
            done |= {("a", step, c.id) for c in rec.attempt.calls}
    return done


@dataclass
class Point:
    phase: int
    after: float
    problems: list[str] = field(default_factory=list)


def crash_at(tmp: Path, point: Point, expected: dict[str, str]) -> Point:
    ws = prepare(tmp)
    steps = phases(ws)
    for argv in steps[: point.phase]:
        assert run_phase(ws, argv).returncode == 0
    proc = subprocess.Popen(
        steps[point.phase],
        cwd=ws.root,
        env=ws.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    time.sleep(point.after)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    lock_path = ws.root / "plans/a/devloop.lock"
    try:
        if lock_path.exists():
            read_lock(lock_path, "a")
    except Exception as exc:  # any failure to read is what this looks for
        point.problems.append(f"the lock does not parse after the kill: {exc}")
    made = calls(ws)
    finished = finished_calls(ws, made) if lock_path.exists() else set()
    for argv in steps[point.phase :]:
        r = run_phase(ws, argv)
        if r.returncode != 0:
            said = (r.stdout[-400:] + " | stderr: " + r.stderr[-400:]).strip()
            point.problems.append(f"{' '.join(argv[-2:])} after the kill exited {r.returncode}: {said}")
    again = [c for c in calls(ws)[len(made) :] if c in finished]
    if again:
        point.problems.append(f"finished answers asked for again: {again}")
    lock = read_lock(lock_path, "a")
    for rel, meta in lock.artifacts.items():
        if (ws.root / rel).is_file() and hash_file(ws.root / rel) != meta.get("sha256") and not meta.get("edited"):
            point.problems.append(f"{rel} does not match the hash its lock records")
    temp = [p for p in ws.root.rglob("*.tmp") if ".git" not in p.parts]
    if temp:
        point.problems.append(f"temp files left: {temp}")
    got = end_state(ws)
    differs = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
    if differs:
        import difflib

        first = differs[0]
        diff = difflib.unified_diff(
            expected.get(first, "").splitlines(), got.get(first, "").splitlines(), "uninterrupted", "killed", n=0
        )
        shown = "\n       ".join(list(diff)[2:12])
        point.problems.append(f"the end state differs from an uninterrupted run in {differs}:\n       {shown}")
    return point


def kill_points(took: list[float], n: int) -> list[Point]:
    """``n`` points spread evenly over the whole loop's time, each as (command, seconds into it)."""
    total = sum(took)
    points = []
    for k in range(1, n + 1):
        at = total * k / (n + 1)
        for i, t in enumerate(took):
            if at <= t:
                points.append(Point(i, at))
                break
            at -= t
    return points


def run(n: int, tmp: Path) -> list[Point]:
    expected, took = reference(tmp)
    points = kill_points(took, n)
    for i, p in enumerate(points):
        crash_at(tmp / f"point{i}", p, expected)
    return points


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 40
    with tempfile.TemporaryDirectory(prefix="devloop-crash-") as tmp:
        points = run(n, Path(tmp))
    bad = [p for p in points if p.problems]
    for p in points:
        mark = "ok  " if not p.problems else "FAIL"
        print(f"{mark} kill during command {p.phase} after {p.after:.2f}s" + "".join(f"\n     {x}" for x in p.problems))
    print(f"{len(points)} kill points tried, {len(bad)} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
