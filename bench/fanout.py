"""Benchmark: does the Production-Grade review cycle cost the slowest reviewer, not the sum of them?

    .venv/bin/python bench/fanout.py [--reviewers 5] [--sleep 2 | --staggered] [--repeat 5] [--keep]

The defaults reproduce issue 17's row "review cycle, 5 reviewers of 2 s".

In a temporary git repository it builds a devloop workspace whose agents are
all ``command`` agents running ``tests/fakes/fake_agent.py`` (a real
executable driven by a JSON script): ``author`` (planner, implementer),
``judge`` (plan reviewer, evaluator), ``r1`` .. ``rN`` (the reviewers) and
``ver`` (the verifier, which a clean cycle never calls). One feature is
brought up to its code review with ``doit implement:<f>`` (fast answers; the
red team is skipped, the plan has no risk tag).

Every reviewer sleeps ``--sleep`` seconds (default 2), or with ``--staggered``
reviewer ``ri`` sleeps ``0.4 + 0.2 * i`` seconds; each answers ``VOTE:
PRODUCTION GRADE``, so one cycle passes with no verifier and no fix. After an
untimed warm-up cycle, ``doit code_review:<f>`` is timed ``--repeat`` times
(``devloop redo <f> code_review`` before each), and so is the no-op ``doit
code_review:<f>`` of the up-to-date workspace (process start + task loading).

It prints the ratio wall / slowest reviewer's sleep per cycle and its
min/median/max (the tracked figure; target <= 1.1), the overhead per cycle
(wall - slowest), that overhead less the no-op, and where it goes, twice:
from devloop's own clocks (the slowest reviewer in the ledger, the step's
``duration_s`` in the lock) and from timestamps on a single clock (the bench's
start, the fake agents' prompt files written when each agent starts, the
answers and the lock devloop writes, the bench's end). It also prints the sum
of all sleeps: what running the reviewers one after another would cost.

The floor: interleaved with the cycles, a bare doit project whose one task
starts the same fake reviewers (same program, the prompt devloop sent on
stdin, each in a session of its own) and waits for them is timed the same
way. Its ratio is the best any tool on top of doit could reach on this
machine; the cycle's wall time less the floor is devloop's own cost.
It asserts nothing about time; it exits non-zero only when a run is not what
it should be (a step failed, or agents other than the N reviewers were called).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from status import DEVLOOP, DOIT, BenchError, leave  # bench/status.py: the shared command helpers

REPO = Path(__file__).resolve().parent.parent
FAKE_AGENT = REPO / "tests" / "fakes" / "fake_agent.py"
FEATURE = "fanout"
PG = "Clean, tested, and it does what the plan says.\n\nVOTE: PRODUCTION GRADE\n"


class Bench:
    """The temp workspace, the environment its commands run with, and the fake agents' script and log."""

    def __init__(self, tmp: Path, reviewers: int, sleep: float | None) -> None:
        self.tmp = tmp
        self.root = tmp / "ws"
        self.script = tmp / "script.json"
        self.log = tmp / "calls.jsonl"
        self.reviewers = [f"r{i}" for i in range(1, reviewers + 1)]
        self.sleeps = {r: round(0.4 + 0.2 * i if sleep is None else sleep, 3) for i, r in enumerate(self.reviewers, 1)}
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVLOOP_")}
        env.pop("PYTHONPROFILEIMPORTTIME", None)
        # As on a user's machine, modules load from bytecode; the prefix keeps the bench from
        # writing __pycache__ folders into the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
            NO_COLOR="1",
            HOME=str(tmp / "home"),
            GIT_AUTHOR_NAME="bench",
            GIT_AUTHOR_EMAIL="bench@example.invalid",
            GIT_COMMITTER_NAME="bench",
            GIT_COMMITTER_EMAIL="bench@example.invalid",
            FAKE_AGENT_SCRIPT=str(self.script),
            FAKE_AGENT_LOG=str(self.log),
        )
        self.env = env

    def run(self, argv: list[str], check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(argv, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and (done.returncode != 0 or " FAILED" in done.stdout or " ERROR" in done.stdout):
            raise BenchError(
                f"`{' '.join(argv)}` in {self.root} exited {done.returncode}\n"
                f"--- stdout (tail) ---\n{_tail(done.stdout)}\n--- stderr (tail) ---\n{_tail(done.stderr)}"
            )
        return done

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line.strip()]

    def ledger(self) -> list[dict[str, Any]]:
        path = self.root / "runs" / "ledger.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def step_record(self, step: str) -> dict[str, Any]:
        import yaml

        lock = yaml.safe_load((self.root / "plans" / FEATURE / "devloop.lock").read_text(encoding="utf-8"))
        return (lock.get("steps") or {}).get(step) or {}


def _tail(text: str, n: int = 30) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join(lines[-n:]) if lines else "(empty)"


# -- the workspace --------------------------------------------------------------
def devloop_yaml(b: Bench) -> str:
    agents = ("author", "judge", *b.reviewers, "ver")
    text = "# bench/fanout.py: every agent is tests/fakes/fake_agent.py, scripted by FAKE_AGENT_SCRIPT.\n"
    text += "env_allow: [FAKE_AGENT_SCRIPT, FAKE_AGENT_LOG]\nagents:\n"
    for name in agents:
        text += f"  {name}: {{kind: command, argv: [{sys.executable}, {FAKE_AGENT}, --agent, {name}], timeout: 120}}\n"
    roles = {
        "planner": "author",
        "plan_reviewer": "judge",
        "implementer": "author",
        "reviewers": f"[{', '.join(b.reviewers)}]",
        "verifier": "ver",
        "evaluator": "judge",
    }
    return text + "roles:\n" + "".join(f"  {k}: {v}\n" for k, v in roles.items())


def script(b: Bench, rounds: int) -> dict[str, Any]:
    """Fast answers up to implement; then, for every review round a run may use, one sleep per reviewer.

    There is no fallback for code_review: a verifier or fix call finds no action and fails the step.
    """
    p = f"plans/{FEATURE}"
    out: dict[str, Any] = {
        f"{FEATURE}/plan/plan": {
            "write": {
                f"{p}/plan.md": "# Plan\n\n1. Write `src/fanout.py` with `hello()`.\n2. Smoke-test it.\n",
                f"{p}/validation.md": "# Validation\n\n- `scripts/smoke/fanout.sh` exits 0.\n",
            }
        },
        "plan_review": {"answer": "The plan covers the brief.\n\nVERDICT: APPROVE\n"},
        f"{FEATURE}/implement/implement": {
            "write": {
                "src/fanout.py": 'def hello() -> str:\n    return "hi"\n',
                f"{p}/deviations.md": "No deviations.\n",
                "scripts/smoke/fanout.sh": "#!/bin/sh\nexit 0\n",
            }
        },
    }
    for k in range(1, rounds + 1):
        for r, s in b.sleeps.items():
            out[f"{FEATURE}/code_review/round{k}-{r}"] = {"answer": PG, "sleep": s}
    return out


def build(b: Bench, rounds: int) -> float:
    """Workspace up to date through implement; returns the time of ``doit implement:<f>``."""
    b.root.mkdir(parents=True)
    (b.tmp / "home").mkdir()
    if not FAKE_AGENT.is_file():
        raise BenchError(f"the fake agent is missing: {FAKE_AGENT}")
    b.script.write_text(json.dumps(script(b, rounds)), encoding="utf-8")
    b.run(["git", "init", "-q"])
    b.run([*DEVLOOP, "init"])
    (b.root / "devloop.yaml").write_text(devloop_yaml(b), encoding="utf-8")
    b.run([*DEVLOOP, "config", "check"])
    b.run([*DEVLOOP, "new", FEATURE, "Add a function hello() that returns 'hi'."])
    b.run(["git", "add", "-A"])
    b.run(["git", "commit", "-q", "-m", "bench: workspace"])
    t0 = time.perf_counter()
    done = b.run([*DOIT, f"implement:{FEATURE}"])
    took = time.perf_counter() - t0
    st = b.step_record("implement")
    if st.get("state") != "done":
        raise BenchError(f"implement:{FEATURE} is {st.get('state')!r} after doit\n{_tail(done.stdout)}")
    red = b.step_record("red_team")
    if red.get("calls"):
        raise BenchError("the red team ran; the bench needs it skipped")
    return took


# -- one cycle ------------------------------------------------------------------
def cycle(b: Bench, redo: bool) -> dict[str, float]:
    """``doit code_review:<f>`` once (after ``devloop redo`` when asked); its wall time and the split of it."""
    if redo:
        b.run([*DEVLOOP, "redo", FEATURE, "code_review"])
    n_calls, n_ledger = len(b.calls()), len(b.ledger())
    t0, wall0 = time.perf_counter(), time.time()
    done = b.run([*DOIT, f"code_review:{FEATURE}"])
    wall = time.perf_counter() - t0
    end = wall0 + wall
    if f"Step: code_review:{FEATURE}" not in done.stdout:
        raise BenchError(f"doit code_review:{FEATURE} ran no review\n{_tail(done.stdout)}")
    calls = b.calls()[n_calls:]
    seen = sorted((c["step"], c["call_id"].split("-", 1)[-1]) for c in calls)
    if seen != sorted(("code_review", r) for r in b.reviewers):
        raise BenchError(f"expected one call per reviewer and nothing else, got {seen}")
    rounds = {c["call_id"].split("-", 1)[0] for c in calls}
    if len(rounds) != 1:
        raise BenchError(f"the reviewers answered in different rounds: {sorted(rounds)}")
    rec = b.step_record("code_review")
    if rec.get("state") != "done" or (rec.get("data") or {}).get("verdict") != "PRODUCTION_GRADE":
        raise BenchError(f"code_review is {rec.get('state')!r}, data {rec.get('data')}")
    agent_s = [e["duration_s"] for e in b.ledger()[n_ledger:] if e["step"] == "code_review"]
    # One clock (the file system's, which is time.time()'s): each fake agent writes its prompt file once it
    # has read the prompt (it is running), devloop writes each answer once parsed, and the lock last.
    (k,) = rounds
    started = [(b.tmp / f"prompt-{FEATURE}-code_review-{k}-{r}.txt").stat().st_mtime for r in b.reviewers]
    answered = [(b.root / f"plans/{FEATURE}/reviews/{k}-{r}.md").stat().st_mtime for r in b.reviewers]
    locked = (b.root / "plans" / FEATURE / "devloop.lock").stat().st_mtime
    slowest = max(b.sleeps.values())
    return {
        "wall": wall,
        "step": float(rec.get("duration_s") or 0.0),  # devloop's own clock around the step's run
        "agent_max": max(agent_s),  # the slowest reviewer as devloop timed it (its process included)
        "agent_sum": float(rec.get("agent_seconds") or 0.0),
        "to_first_agent": min(started) - wall0,  # doit start, task loading, the step's prompt, agent spawn
        "agent_spread": max(started) - min(started),  # the last agent running after the first
        "last_answer": max(answered) - max(started) - slowest,  # agent exit, reading, parsing, answer stored
        "to_lock": locked - max(answered),  # record, lock written
        "after_lock": end - locked,  # doit's own end, the reporter, process exit
    }


# -- the floor: bare doit running the same agents ------------------------------------
BARE_DODO = """\
# bench/fanout.py: the floor of a review cycle. One doit task starts the same fake reviewers
# devloop starts (same program, same prompt on stdin, each in its own session) and waits for all.
import json, os, subprocess
from pathlib import Path

SPEC = json.loads(Path("agents.json").read_text(encoding="utf-8"))


def review():
    prompt = Path("prompt.txt").read_bytes()
    procs = []
    for name, argv in SPEC["agents"].items():
        env = dict(os.environ, DEVLOOP_STEP="floor", DEVLOOP_FEATURE="floor", DEVLOOP_CALL_ID=name)
        procs.append(subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True))
    for p in procs:  # every reviewer gets its prompt before any is waited for: they run at once
        p.stdin.write(prompt)
        p.stdin.close()
    ok = True
    for name, p in zip(SPEC["agents"], procs):
        out = p.stdout.read()
        p.stderr.read()
        p.wait()
        ok = ok and p.returncode == 0 and b"VOTE:" in out
        Path(f"answer-{name}.md").write_bytes(out)
    return ok


def task_review():
    return {"actions": [review], "uptodate": [False], "verbosity": 0}
"""


def floor_setup(b: Bench) -> Path:
    """A bare doit project whose one task runs the reviewers as devloop does, minus devloop."""
    bare = b.tmp / "bare"
    bare.mkdir()
    (bare / "dodo.py").write_text(BARE_DODO, encoding="utf-8")
    prompt = b.tmp / "last-prompt-code_review.txt"  # the real prompt devloop sent, saved by the fake agent
    (bare / "prompt.txt").write_bytes(prompt.read_bytes() if prompt.is_file() else b"Review.\n")
    agents = {r: [sys.executable, str(FAKE_AGENT), "--agent", r] for r in b.reviewers}
    (bare / "agents.json").write_text(json.dumps({"agents": agents}), encoding="utf-8")
    script = {f"floor/{r}": {"answer": PG, "sleep": s} for r, s in b.sleeps.items()}
    (bare / "script.json").write_text(json.dumps(script), encoding="utf-8")
    return bare


def floor(b: Bench, bare: Path) -> dict[str, float]:
    """``doit review`` in the bare project (start, doit, the agents; nothing of devloop's): wall, first agent."""
    env = {**b.env, "FAKE_AGENT_SCRIPT": str(bare / "script.json"), "FAKE_AGENT_LOG": str(bare / "calls.jsonl")}
    t0, wall0 = time.perf_counter(), time.time()
    done = subprocess.run([*DOIT, "review"], cwd=bare, env=env, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise BenchError(f"the bare doit floor failed\n{_tail(done.stdout)}\n{_tail(done.stderr)}")
    started = [(bare / f"prompt-floor-floor-{r}.txt").stat().st_mtime for r in b.reviewers]
    return {"wall": took, "to_first_agent": min(started) - wall0}


def agent_start(b: Bench, repeat: int = 3) -> list[float]:
    """Wall time of one fake agent run alone with no sleep: the floor of any agent call's overhead."""
    solo = b.tmp / "solo.json"
    solo.write_text(json.dumps({"*": {"answer": PG}}), encoding="utf-8")
    argv = [sys.executable, str(FAKE_AGENT), "--agent", "solo"]
    env = {**b.env, "FAKE_AGENT_SCRIPT": str(solo)}
    env.pop("FAKE_AGENT_LOG", None)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=b.root, env=env, input="prompt", capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
    return times


def noop(b: Bench, repeat: int) -> list[float]:
    """Wall time of ``doit code_review:<f>`` on the up-to-date workspace: process start + task loading."""
    times = []
    n_calls = len(b.calls())
    for _ in range(repeat):
        t0 = time.perf_counter()
        done = b.run([*DOIT, f"code_review:{FEATURE}"])
        times.append(time.perf_counter() - t0)
        if "Step:" in done.stdout or len(b.calls()) != n_calls:
            raise BenchError(f"the no-op `doit code_review:{FEATURE}` was not a no-op\n{_tail(done.stdout)}")
    return times


# -- main -------------------------------------------------------------------
def _spread(values: list[float], fmt: str = "{:.3f}") -> str:
    return (
        f"median {fmt.format(statistics.median(values))}  "
        f"(min {fmt.format(min(values))}, max {fmt.format(max(values))})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviewers", type=int, default=5, help="number of reviewers (default 5)")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--sleep", type=float, default=2.0, help="every reviewer's sleep, seconds (default 2)")
    how.add_argument("--staggered", action="store_true", help="reviewer i sleeps 0.4 + 0.2 * i seconds instead")
    ap.add_argument("--repeat", type=int, default=5, help="timed review cycles (default 5)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspace and print where")
    args = ap.parse_args(argv)
    if args.reviewers < 1 or args.repeat < 1:
        ap.error("--reviewers and --repeat must be at least 1")
    if args.sleep <= 0:
        ap.error("--sleep must be positive")

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="devloop-bench-fanout-"))
    b = Bench(tmp, args.reviewers, None if args.staggered else args.sleep)
    try:
        slowest, total = max(b.sleeps.values()), sum(b.sleeps.values())
        print(f"devloop bench: review fan-out, {args.reviewers} reviewers, repeat {args.repeat}")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), doit: {' '.join(DOIT)}")
        if args.staggered:
            print("reviewer sleeps: " + ", ".join(f"{r} {s:.1f} s" for r, s in b.sleeps.items()))
        else:
            print(f"reviewer sleeps: every reviewer {args.sleep:g} s")
        took = build(b, rounds=args.repeat + 1)
        print(f"`doit implement:{FEATURE}` (plan, plan_review, red_team skipped, implement): {took:.2f} s")

        warm = cycle(b, redo=False)
        print(f"first cycle (untimed warm-up): {warm['wall']:.3f} s")
        bare = floor_setup(b)
        floor(b, bare)  # warm-up: doit's database, bytecode
        runs, floors = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same load on the machine
            runs.append(cycle(b, redo=True))
            floors.append(floor(b, bare))
        base = noop(b, max(args.repeat, 5))

        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        wall, noop_s, solo = med["wall"], statistics.median(base), statistics.median(agent_start(b))
        ratios = [r["wall"] / slowest for r in runs]
        overhead = wall - slowest
        print()
        print("cycle wall times: " + ", ".join(f"{r['wall']:.3f}" for r in runs) + " s")
        print(f"wall time of a cycle:                 {_spread([r['wall'] for r in runs])} s")
        print(f"slowest reviewer's sleep:             {slowest:.3f} s")
        print(f"sum of all sleeps (serial would be):  {total:.3f} s   (wall / sum {wall / total:.2f})")
        print()
        print(f"ratio wall / slowest:                 {_spread(ratios, '{:.3f}')}   [tracked; target <= 1.1]")
        print(f"overhead per cycle (wall - slowest):  {overhead * 1000:.0f} ms")
        print(
            f"no-op `doit code_review:{FEATURE}`:     {noop_s * 1000:.0f} ms median of {len(base)} "
            f"(min {min(base) * 1000:.0f} ms): process start + task loading"
        )
        print(f"overhead of the cycle itself:         {(overhead - noop_s) * 1000:.0f} ms  (wall - slowest - no-op)")
        print(f"ratio (wall - no-op) / slowest:       {(wall - noop_s) / slowest:.3f}")
        print()
        print("the floor: bare doit, one task starting the same reviewers with the same prompt, no devloop")
        print(f"  floor wall time:                    {_spread([f['wall'] for f in floors])} s")
        print(f"  floor ratio / slowest:              {_spread([f['wall'] / slowest for f in floors], '{:.3f}')}")
        firsts = [f["to_first_agent"] * 1000 for f in floors]
        print(f"  floor, doit start to first agent:   {_spread(firsts, '{:.0f}')} ms  (prompt file written)")
        mine = [r["wall"] - f["wall"] for r, f in zip(runs, floors, strict=True)]
        print(f"  devloop's own cost (cycle - floor): {_spread([m * 1000 for m in mine], '{:.0f}')} ms")
        print()
        print("where the overhead goes, one clock (medians, ms):")
        rows = [
            ("doit start to first agent running", "to_first_agent", "start, tasks, prompt, spawn, agent's start"),
            ("last agent running after the first", "agent_spread", f"the others, {os.cpu_count()} cpu(s) shared"),
            ("last answer stored, less its sleep", "last_answer", "agent exit, devloop reading and parsing it"),
            ("last answer to lock written", "to_lock", "reviews.md, outputs hashed, lock"),
            ("lock written to process gone", "after_lock", "reporter, doit's end, interpreter exit"),
        ]
        for name, key, note in rows:
            print(f"  {name:<37} {med[key] * 1000:5.0f} ms  ({note})")
        print(f"  (one fake agent alone, no sleep: {solo * 1000:.0f} ms from spawn to exit)")
        print()
        print("where the cycle's own overhead goes, devloop's clocks (medians):")
        rows2 = [
            (
                "agent process start and exit",
                med["agent_max"] - slowest,
                f"slowest reviewer timed by devloop {med['agent_max']:.3f} s",
            ),
            (
                "devloop in the step, beyond the call",
                med["step"] - med["agent_max"],
                f"step timed by devloop {med['step']:.3f} s: prompt, parsing, answers and lock written",
            ),
            (
                "devloop outside the step",
                wall - med["step"] - noop_s,
                "beyond the no-op: staleness, the step's start and end in the lock",
            ),
        ]
        for name, secs, note in rows2:
            print(f"  {name:<37} {secs * 1000:5.0f} ms  ({note})")
        print(f"agent seconds summed over reviewers:  {med['agent_sum']:.3f} s")
        print()
        print(f"total bench time: {time.perf_counter() - started:.1f} s")
        return 0
    except BenchError as exc:
        print(f"\nbench/fanout.py: {exc}", file=sys.stderr)
        return 1
    finally:
        leave(tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
