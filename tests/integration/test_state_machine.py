"""The loop's state under random use: a hypothesis state machine driving the real doit and devloop.

Two features share a workspace; roles are played by tests/fakes/loop_agent.py
(answers differ on every call; a rule switches a step between passing,
asking for changes, answering garbage, writing where no author may) or by a
person (the manual agent ``me``). Rules run ``doit`` (also ``-n 2``),
``doit smoke[:f]``, edit or empty an artifact, approve what is offered, redo
a step, record a deploy, change who plays a role, watch the triggers, follow
what ``status`` suggests, and press Ctrl-C during an agent call. After every rule the invariants below are
checked, and at the end the loop must settle (every redo, retry and wait
ends) once the agents behave.

Every violation names the invariant it broke (``[gate]``, ``[no-call]``...).
Profiles: ``DEVLOOP_STATEFUL=ci`` (default: a few derandomised examples) or
``thorough`` (many random ones). ``DEVLOOP_STATEFUL_SURVEY=<file>`` records
violations to the file and carries on instead of failing, to count what a
long run finds (e.g. with ``DEVLOOP_UNDER_TEST`` on an older checkout).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from devloop.provenance.hashing import MISSING, hash_file, hash_output
from devloop.provenance.state import FeatureLock
from tests.fakes.loop_agent import make_answer
from tests.loopws import LoopWS, next_lines
from tests.polling import wait_until

FEATURES = ("a", "b")
ORDER = ["plan", "plan_review", "red_team", "implement", "code_review", "deploy_review", "smoke", "evaluate"]
MODES = ("pass", "needs_work", "garbage", "trespass", "keep_code")
GATED = {"red_team": "red-team", "plan_review": "plan", "code_review": "code-review", "smoke": "smoke"}
# Every pick keeps authors (cmd, cmd4, a person) apart from the judges (cmd2, cmd3, a person), as config requires.
ROLE_CHOICES = {
    "planner": ("cmd", "cmd4", "me"),
    "implementer": ("cmd", "cmd4", "me"),
    "reviewers": ("[cmd2]", "[me]", "[cmd3]"),
    "evaluator": ("cmd2", "cmd3", "me"),
}
# Small caps, so that every gate and cap is reached in a few actions.
POLICY = "steps:\n  plan_review: {max_rounds: 1}\n  code_review: {max_cycles: 2}\n  smoke: {max_round_trips: 1}\n"
SURVEY = os.environ.get("DEVLOOP_STATEFUL_SURVEY")

settings.register_profile(
    "ci",
    max_examples=3,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "thorough", max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
)


def _clean(out: str) -> bool:
    """Every step a run printed ended done (an edit adopted, answers restored), none waiting or failed."""
    for line in out.splitlines():
        if line.startswith("Step: "):
            rest = line.split(None, 2)[2] if len(line.split(None, 2)) > 2 else ""
            rest = re.sub(r" \[restored from cache: [^]]*\]$", "", rest)
            if rest not in ("", "(hand edit adopted, no agent called)"):
                return False
    return "Waiting on:" not in out


def role_of(step: str, call: str) -> str:
    """Which role a call id of a step belongs to (to play it by hand)."""
    if step == "plan":
        return "planner"
    if step == "plan_review":
        return "planner" if call.endswith("-revise") else "plan_reviewer"
    if step == "red_team":
        return "planner" if call.startswith("validation") else "red_team"
    if step == "implement":
        return "implementer"
    if step == "code_review":
        return "verifier" if call.endswith("-verify") else "implementer" if call.endswith("-fix") else "reviewers"
    if step == "smoke":
        return "planner" if call == "validation-fix" else "triage"
    return {"deploy_review": "gcp_reviewer", "evaluate": "evaluator"}[step]


class LoopMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="devloop-states-"))
        self.ws = LoopWS.create(self.tmp, features=FEATURES)
        self.ws.config(extra=POLICY)
        self.ws.env["DEVLOOP_FAST_PATH"] = "trace"  # every rule runs with the fast path on, and says when it answers
        self.modes: dict[str, str] = {}
        self.risk = False
        self.approved: set[tuple[str, str, str]] = set()  # (feature, gate, subject) approved by this test
        self.edits: list[tuple[str, str]] = []  # (path, hash) of hand edits that must never be lost
        self.answers: Counter[tuple[str, str, str]] = Counter()  # manual answers this test gave
        self.last = ""  # the last doit output
        # (feature, step, path, hash) of edits made while that step's agent worked, and the step's attempts then
        self.under_way: list[tuple[str, str, str, str, int]] = []
        self.implemented: set[str] = set()  # features whose code the loop has written
        self.before: list[tuple[str, bytes]] = []  # (path, content) before each hand edit, for undo_edit
        self.wrote: dict[str, set[str]] = {}  # files this test wrote as a person answering for each feature

    # -- helpers ---------------------------------------------------------------
    def fail(self, tag: str, message: str) -> None:
        if SURVEY:
            with open(SURVEY, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"tag": tag, "message": message[:2000]}) + "\n")
            return
        raise AssertionError(f"[{tag}] {message}")

    def check(self, ok: bool, tag: str, message: str) -> None:
        if not ok:
            self.fail(tag, message)

    def control(self) -> None:
        self.ws.control(modes=self.modes, risk=self.risk)

    def logged_calls(self) -> int:
        """Calls the agents have logged, whole lines only (each is one write, just before a slow agent sleeps)."""
        return self.ws.log.read_text().count("\n") if self.ws.log.exists() else 0

    def lock(self, f: str) -> FeatureLock:
        return self.ws.lock(f)

    def content_fresh(self) -> dict[tuple[str, str], bool]:
        """Per (feature, step): finished, not forced, inputs and outputs as recorded (judged by this test)."""
        out = {}
        root = f"{self.ws.root}/"
        for f in FEATURES:
            lock = self.lock(f)
            for step, rec in lock.steps.items():
                ok = rec.state == "done" and rec.force is None
                run = lock.data("smoke").get("run") if step == "evaluate" else None
                ok = ok and (not run or f"{run}/smoke.log" in rec.inputs)  # a newer smoke run is a new input
                for p, h in rec.inputs.items():
                    ok = ok and hash_file(root + p) == h
                for p in rec.outputs:
                    now = hash_output(root, p)
                    art = lock.artifacts.get(p)
                    ok = ok and now != MISSING and (art is None or art.get("sha256") == now)
                out[(f, step)] = ok
        return out

    def records(self) -> dict[tuple[str, str], Any]:
        return {(f, s): r.to_dict() for f in FEATURES for s, r in self.lock(f).steps.items()}

    def doit(self, *args: str) -> Any:
        fresh, before, n = self.content_fresh(), self.records(), len(self.ws.calls())
        r = self.ws.doit(*args)
        self.last = r.stdout
        self.check("Traceback" not in r.stderr + r.stdout, "no-traceback", f"doit {args}: {r.stderr[-1500:]}")
        self.check(r.returncode in (0, 1), "exit", f"doit {args} exited {r.returncode}: {r.stdout}{r.stderr}")
        after = self.records()
        for f, step, call in self.ws.calls_since(n):
            i = ORDER.index(step)
            moved = any(before.get((f, up)) != after.get((f, up)) for up in ORDER[:i])
            self.check(
                not fresh.get((f, step)) or moved,
                "no-call",
                f"doit {args} called an agent for {step}:{f} ({call}) although it was up to date and nothing "
                f"upstream changed; why: {self.ws.devloop('why', f).stdout}",
            )
        self.check_output(r.stdout, f"doit {args}")
        if not args and "Everything is up to date" in r.stdout:
            stale = [k for k, ok in self.content_fresh().items() if not ok and k[1] != "smoke"]
            self.check(not stale, "said-fresh", f"doit said everything is up to date, but by content {stale} are not")
        if "devloop: fast path" in r.stderr:
            self.full_graph_agrees(args, r.stdout)
        if "devloop: partial graph" in r.stderr and r.returncode == 0 and _clean(r.stdout):
            self.partial_graph_sufficed(args)
        return r

    def full_graph(self, args: tuple[str, ...]) -> tuple[Any, list[str], bool]:
        """``doit`` with the fast path off: its output, the steps it printed, and whether it left every
        record and the agents' log as they were."""
        before, n = self.records(), len(self.ws.calls())
        self.ws.env["DEVLOOP_FAST_PATH"] = "0"
        try:
            full = self.ws.doit(*args)
        finally:
            self.ws.env["DEVLOOP_FAST_PATH"] = "trace"
        ran = [line for line in full.stdout.splitlines() if line.startswith("Step: ")]
        return full, ran, len(self.ws.calls()) == n and self.records() == before

    def partial_graph_sufficed(self, args: tuple[str, ...]) -> None:
        """A partial graph ran every step it had to, each to the end: the full graph right after runs nothing."""
        n = len(self.ws.calls())
        full, ran, still = self.full_graph(args)
        self.check(
            not ran and still,
            "partial-graph",
            f"a partial graph ran and ended cleanly, but the full graph after it printed {full.stdout!r} and "
            f"called {len(self.ws.calls()) - n} agent(s)",
        )

    def full_graph_agrees(self, args: tuple[str, ...], said: str) -> None:
        """The fast path answered: the full graph, built and judged by doit, must run nothing either."""
        n = len(self.ws.calls())
        full, ran, still = self.full_graph(args)
        self.check(
            not ran and still and full.stdout == said,
            "fast-path",
            f"the fast path said {said!r}, but the full graph printed {full.stdout!r} and called "
            f"{len(self.ws.calls()) - n} agent(s)",
        )

    def check_output(self, out: str, what: str) -> None:
        tasks = {f"{s}:{f}" for s in ORDER for f in FEATURES}
        for line in out.splitlines():
            if line.startswith("Step: "):
                self.check(line.split()[1] in tasks, "step-name", f"{what}: {line!r} does not name a doit task")
        for n in next_lines(out):
            ok = n.startswith(("doit", "devloop ", "write ", "revise ", "nothing", "wait "))
            self.check(ok, "next", f"{what}: Next line {n!r} is neither a command nor a plain instruction")

    def status(self) -> str:
        r = self.ws.devloop("status")
        self.check(r.returncode == 0, "exit", f"status exited {r.returncode}: {r.stderr}")
        return r.stdout

    def answer(self, line: str) -> bool:
        """Play a manual role from a Next line: write/revise <files> (prompt: <path>)."""
        m = re.match(r"(?:write|revise) (.+?) \(prompt: (\.devloop/prompts/([a-z0-9-]+)/(\w+)-(.+)\.md)\)", line)
        if not m:
            return False
        files, prompt_path, f, step, call = m.groups()
        prompt = (self.ws.root / prompt_path).read_text() if (self.ws.root / prompt_path).exists() else ""
        role = role_of(step, call)
        n = len(self.ws.calls()) + 1000 + sum(self.answers.values())
        text, written = make_answer(step, role, call, f, prompt, "pass", n, self.risk)
        replaced = set(written) | (set(files.split(", ")) if text else set())
        self.edits = [(rel, sha) for rel, sha in self.edits if rel not in replaced]  # the person rewrote them
        if text:
            for rel in files.split(", "):
                self.ws.write(rel, text)
        for rel, body in written.items():
            self.ws.write(rel, body)
            if rel.endswith(".sh"):
                (self.ws.root / rel).chmod(0o755)
        self.answers[(f, step, call)] += 1
        self.wrote.setdefault(f, set()).update([*written, *(files.split(", ") if text else [])])
        return True

    # -- rules -----------------------------------------------------------------
    @rule(parallel=st.booleans())
    def run_doit(self, parallel: bool) -> None:
        self.doit(*(("-n", "2") if parallel else ()))

    @rule(feature=st.sampled_from((None, *FEATURES)))
    def smoke(self, feature: str | None) -> None:
        self.run_smoke(feature)

    def run_smoke(self, feature: str | None) -> None:
        deployed = {f for f in FEATURES if self.lock(f).deploy}
        others = {f: self.snapshot(f) for f in FEATURES if f != feature}
        n = len(self.ws.calls())
        self.doit(f"smoke:{feature}" if feature else "smoke")
        calls = self.ws.calls_since(n)
        targets = {feature} if feature else set(FEATURES)
        for f, step, call in calls:
            ok = step == "smoke" and f in targets and f in deployed
            self.check(ok, "smoke-scope", f"doit smoke:{feature} called {step}:{f} ({call})")
        for f, snap in others.items():
            if feature is not None:
                self.check(snap == self.snapshot(f), "smoke-scope", f"doit smoke:{feature} changed {f}'s files")

    def snapshot(self, f: str) -> dict[str, str]:
        folder = self.ws.root / "plans" / f
        files = [p for p in folder.rglob("*") if p.is_file() and p.name != "devloop.lock"]
        return {str(p): hash_file(p) for p in files}

    @rule(
        feature=st.sampled_from(FEATURES),
        rel=st.sampled_from(
            ("plan.md", "plan.md", "validation.md", "evaluation.md", "reviews.md", "deviations.md", "src")
        ),
        empty=st.booleans(),
    )
    def edit(self, feature: str, rel: str, empty: bool) -> None:
        path = f"src/{feature}.py" if rel == "src" else f"plans/{feature}/{rel}"
        target = self.ws.root / path
        if not target.is_file():
            return
        self.superseded(path)
        self.before = [*self.before[-5:], (path, target.read_bytes())]
        if empty and rel in ("plan.md", "evaluation.md"):
            target.write_text("")
            return
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(f"\n# A line added by hand ({len(self.edits)})\n")
        self.edits.append((path, hash_file(target)))

    @rule(data=st.data())
    def undo_edit(self, data: st.DataObject) -> None:
        """A person puts back what a file held before one of their edits (git checkout, stash pop): questions
        answered before come back, and the answer cache may answer them; every invariant still holds."""
        if not self.before:
            return
        path, content = data.draw(st.sampled_from(self.before))
        target = self.ws.root / path
        # The person overwrites their own edits of this file: theirs to drop; what devloop must keep is what *it*
        # overwrites (checked by no_hand_edit_is_lost for every other edit).
        self.edits = [(rel, sha) for rel, sha in self.edits if rel != path]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    def superseded(self, path: str) -> None:
        """A person editing their own edit again, before any run saw it, replaces it: that one needs no keeping."""
        now = hash_file(self.ws.root / path)
        self.edits = [(rel, sha) for rel, sha in self.edits if not (rel == path and sha == now)]

    @rule()
    def age(self) -> None:
        """Every file and folder last modified 10 s ago: old enough for the verdict memo to keep answers."""
        then = time.time_ns() - 10_000_000_000
        for folder, dirs, files in os.walk(self.ws.root):
            for name in (*dirs, *files):
                os.utime(os.path.join(folder, name), ns=(then, then), follow_symlinks=False)
        os.utime(self.ws.root, ns=(then, then))
        time.sleep(2.2)  # utime cannot set the ctime back: wait until every ctime is settled too

    @rule()
    def fresh_copy(self) -> None:
        """The workspace as another machine gets it: copied without ``.devloop/`` (no memo, no config cache, no
        doit database), git's index refreshed there. Where the copy's doit takes the fast path (each feature's
        proof line), the full graph in the same copy must run nothing and call no agent either."""
        copy = self.tmp / "copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.ws.root, copy, symlinks=True, ignore=shutil.ignore_patterns(".devloop"))
        log = self.tmp / "copy-calls.jsonl"
        log.unlink(missing_ok=True)
        env = {**self.ws.env, "LOOP_LOG": str(log), "DEVLOOP_FAST_PATH": "trace"}

        def doit(**more: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "doit"], cwd=copy, env={**env, **more}, capture_output=True, text=True,
                timeout=180,
            )  # fmt: skip

        subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=copy, env=env, capture_output=True)
        fast = doit()
        self.check("Traceback" not in fast.stderr, "no-traceback", f"doit in a copy: {fast.stderr[-1500:]}")
        if "devloop: fast path" in fast.stderr:
            full = doit(DEVLOOP_FAST_PATH="0")
            ran = [line for line in full.stdout.splitlines() if line.startswith("Step: ")]
            self.check(
                not ran and not log.exists() and full.stdout == fast.stdout,
                "fresh-copy",
                f"in a copy the fast path said {fast.stdout!r} ({fast.stderr.strip()[-300:]}), but the full graph "
                f"printed {full.stdout!r}",
            )
        shutil.rmtree(copy, ignore_errors=True)

    @rule(parallel=st.booleans())
    def settled_noop(self, parallel: bool) -> None:
        """Settle every file, then run doit twice: where the first finds nothing to do, the second takes the
        fast path, and :meth:`full_graph_agrees` runs the full graph beside it."""
        self.age()
        self.doit()
        self.doit(*(("-n", "2") if parallel else ()))

    @rule(feature=st.sampled_from(FEATURES), rel=st.sampled_from(("plan.md", "validation.md")))
    def edit_keeping_size_and_mtime(self, feature: str, rel: str) -> None:
        """A rewrite a stat cache could miss: same size, mtime set back (as cp -p or rsync -t do).

        One letter of the title changes case: the document still means what it did (a check block
        stays whole), only its bytes differ.
        """
        path = f"plans/{feature}/{rel}"
        target = self.ws.root / path
        if not target.is_file():
            return
        data = target.read_bytes()
        at = next((i for i, c in enumerate(data[:200]) if chr(c).isalpha()), None)
        if at is None:
            return
        self.superseded(path)
        st = target.stat()
        target.write_bytes(data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :])
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.edits.append((path, hash_file(target)))

    @rule()
    def approve(self) -> None:
        for f, gate in set(re.findall(r"devloop approve ([a-z0-9-]+) ([a-z-]+)", self.status() + self.last)):
            r = self.ws.devloop("approve", f, gate)
            self.check(r.returncode in (0, 3), "exit", f"approve {f} {gate}: {r.returncode} {r.stderr}")
            if r.returncode == 0:
                stamp = self.lock(f).gates[gate]
                self.approved.add((f, gate, json.dumps(stamp.subject, sort_keys=True)))

    @rule(feature=st.sampled_from(FEATURES), step=st.sampled_from(ORDER))
    def redo(self, feature: str, step: str) -> None:
        r = self.ws.devloop("redo", feature, step)
        self.check(r.returncode == 0, "exit", f"redo {feature} {step}: {r.stderr}")

    @rule(feature=st.sampled_from(FEATURES), then_smoke=st.booleans())
    def deploy(self, feature: str, then_smoke: bool) -> None:
        status = json.loads(self.ws.devloop("status", "--json").stdout)[feature]
        passed = all(status[s]["state"] in ("fresh", "drifted") for s in ("code_review", "deploy_review"))
        r = self.ws.devloop("deployed", feature)
        if passed:
            self.check(r.returncode == 0, "deployed", f"deployed {feature} refused after a passed review: {r.stderr}")
        else:
            why = {s: status[s] for s in ("code_review", "deploy_review")}
            self.check(r.returncode == 3, "deployed", f"deployed {feature} accepted with {why}")
        if then_smoke and r.returncode == 0:
            self.run_smoke(feature)

    @rule(role=st.sampled_from(sorted(ROLE_CHOICES)), pick=st.integers(0, 2))
    def change_role(self, role: str, pick: int) -> None:
        self.ws.config(**{role: ROLE_CHOICES[role][pick]})

    @rule(step=st.sampled_from(ORDER), mode=st.sampled_from(MODES))
    def behave(self, step: str, mode: str) -> None:
        self.modes[step] = mode
        self.control()

    @rule()
    def toggle_risk(self) -> None:
        self.risk = not self.risk
        self.control()

    @rule(feature=st.sampled_from(FEATURES), flag=st.sampled_from(("smoke-fail", "fire")))
    def toggle_flag(self, feature: str, flag: str) -> None:
        path = self.ws.root / f".{flag}-{feature}"
        path.unlink() if path.exists() else path.write_text("")

    @rule()
    def answer_manual(self) -> None:
        for line in next_lines(self.last):
            self.answer(line)

    @rule(feature=st.sampled_from(FEATURES), fire=st.booleans())
    def ship(self, feature: str, fire: bool) -> None:
        """What a person does after the review: deploy, record it, verify it, then watch it."""
        self.doit()
        self.deploy(feature, then_smoke=True)
        self.monitor(feature, fire)

    @rule(feature=st.sampled_from(FEATURES), fire=st.booleans())
    def monitor(self, feature: str, fire: bool) -> None:
        flag = self.ws.root / f".fire-{feature}"
        flag.write_text("") if fire else flag.unlink(missing_ok=True)
        r = self.ws.devloop("monitor", feature, "--duration", "1s", "--interval", "1s")
        self.check("Traceback" not in r.stderr, "no-traceback", r.stderr)
        if "FIRED" in r.stdout:
            smoke = json.loads(self.ws.devloop("status", "--json").stdout)[feature]["smoke"]
            self.check(smoke["state"] != "fresh", "trigger", f"a trigger fired but smoke reads {smoke}: {r.stdout}")
            self.check(bool(self.lock(feature).smoke.get("fired")), "trigger", f"the fire is not recorded: {r.stdout}")

    @rule()
    def follow_status(self) -> None:
        out = self.status()
        offered = next_lines(out) + re.findall(r"^Waiting for approval: (devloop approve \S+ \S+)", out, re.M)
        for command in offered:
            argv = command.split()
            if argv[0] == "doit":
                self.doit(*argv[1:])
            elif argv[0] == "devloop":
                r = self.ws.devloop(*argv[1:])
                self.check(r.returncode == 0, "suggested", f"status suggested `{command}`, which said: {r.stderr}")
                if r.returncode == 0 and argv[1] == "approve":
                    subject = json.dumps(self.lock(argv[2]).gates[argv[3]].subject, sort_keys=True)
                    self.approved.add((argv[2], argv[3], subject))

    @rule(parallel=st.booleans())
    def interrupt(self, parallel: bool) -> None:
        slow = {s: "slow" for s in ORDER}
        self.ws.control(modes=slow, risk=self.risk, sleep=60)
        before = self.logged_calls()
        proc = self.ws.start_doit(*(("-n", "2") if parallel else ()))
        try:
            deadline = time.monotonic() + 20
            while not self.ws.live_agents() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if proc.poll() is None and self.ws.live_agents():
                second = self.ws.doit()
                self.check(second.returncode == 4, "busy", f"a second doit exited {second.returncode}")
                self.check(second.stdout == "", "busy", f"a second doit printed {second.stdout!r}")

                # Ctrl-C once every agent started is inside its call (it logs the call, then sleeps: slow). Should
                # that never hold, Ctrl-C lands anyway, at another moment of the run: a case as valid as this one.
                def inside() -> bool:
                    return 0 < len(self.ws.live_agents()) <= self.logged_calls() - before

                wait_until(lambda: proc.poll() is not None or inside(), timeout=10)
                out, err = self.ws.interrupt(proc)
                self.check(proc.returncode == 130, "interrupt", f"doit exited {proc.returncode} on Ctrl-C: {err}")
                self.check("Traceback" not in err, "interrupt", f"Ctrl-C printed a traceback: {err[-1500:]}")
                self.check("No features yet" not in out, "interrupt", f"Ctrl-C then printed: {out}")
            else:
                out, err = proc.communicate(timeout=120)
            deadline = time.monotonic() + 5
            while self.ws.live_agents() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.check(self.ws.live_agents() == [], "interrupt", "an agent outlived the interrupted run")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            for pid in self.ws.live_agents():
                os.kill(pid, signal.SIGKILL)
            self.control()

    @rule(
        parallel=st.booleans(),
        feature=st.sampled_from(FEATURES),
        redo=st.sampled_from((None, "plan_review", "implement", "code_review", "evaluate")),
    )
    def edit_during_call(self, parallel: bool, feature: str, redo: str | None) -> None:
        """Edit an input of a step while its agent works (the agent waits on a file this test controls).

        ``redo`` first asks for a step again, so that an agent is called even when the loop is up to date.
        """
        if redo:
            self.redo(feature, redo)
        hold = self.tmp / "hold"
        shutil.rmtree(hold, ignore_errors=True)
        hold.mkdir()
        self.ws.control(modes=dict.fromkeys(ORDER, "hold"), risk=self.risk, hold=str(hold))
        proc = self.ws.start_doit(*(("-n", "2") if parallel else ()))
        edited: list[tuple[str, str, str, str]] = []
        try:
            deadline = time.monotonic() + 30
            while not any(hold.glob("held-*")) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            for marker in hold.glob("held-*"):
                f, step = marker.name[len("held-") :].split("-", 1)
                path = f"plans/{f}/{'brief.md' if step == 'plan' else 'plan.md'}"
                target = self.ws.root / path
                if not target.is_file():
                    continue
                self.superseded(path)
                with open(target, "a", encoding="utf-8") as fh:
                    fh.write(f"\n# Added while {step} worked ({len(self.edits)})\n")
                sha = hash_file(target)
                self.edits.append((path, sha))
                edited.append((f, step, path, sha))
            (hold / "go").write_text("")
            out, err = proc.communicate(timeout=300)
            self.last = out
            self.check("Traceback" not in out + err, "no-traceback", f"doit during an edit: {err[-1500:]}")
            self.check(proc.returncode in (0, 1), "exit", f"doit exited {proc.returncode}: {out}{err}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            self.control()
        for f, step, path, sha in edited:
            rec = self.lock(f).record(step)
            self.under_way.append((f, step, path, sha, rec.attempts if rec else 0))

    # -- invariants ---------------------------------------------------------------
    @invariant()
    def every_recorded_input_is_what_the_step_was_given(self) -> None:
        """An input edited while the step's agent worked is never recorded as what that attempt read."""
        for f, step, path, sha, attempts in self.under_way:
            rec = self.lock(f).record(step)
            if rec is None or rec.state != "done" or rec.inputs.get(path) != sha or rec.adopted:
                continue
            self.check(
                rec.attempts > attempts,
                "given",
                f"{step}:{f} records {path} as edited during its call ({sha[:12]}) with no attempt since",
            )

    @invariant()
    def the_change_is_never_empty_once_implemented(self) -> None:
        for f in FEATURES:
            code = f"src/{f}.py"
            outputs = self.lock(f).outputs("implement")
            if code in outputs:
                self.implemented.add(f)
            elif f in self.implemented:
                self.fail("change", f"{code} dropped out of {f}'s change: implement's outputs are {outputs}")

    @invariant()
    def gates_pass_only_on_an_approval(self) -> None:
        for f in FEATURES:
            lock = self.lock(f)
            for step, gate in GATED.items():
                rec = lock.record(step)
                if rec is None or rec.state != "done":
                    continue
                needed = (
                    (step == "red_team" and bool(rec.data.get("teams")))
                    or rec.data.get("verdict") == "ESCALATED"
                    or rec.data.get("result") == "accepted by a human"
                )
                stamp = lock.gates.get(gate)
                ok = stamp is not None and stamp.status == "approved"
                ok = ok and (f, gate, json.dumps(stamp.subject, sort_keys=True)) in self.approved
                self.check(not needed or ok, "gate", f"{step}:{f} went past gate {gate} without an approval: {stamp}")

    @invariant()
    def no_hand_edit_is_lost(self) -> None:
        kept = {hash_file(p) for p in self.ws.root.glob("plans/*/.history/**/*") if p.is_file()}
        for rel, sha in self.edits:
            here = hash_file(self.ws.root / rel) == sha
            self.check(here or sha in kept, "hand-edit", f"the hand edit of {rel} is neither there nor archived")

    @invariant()
    def no_agent_outlives_a_run(self) -> None:
        self.check(self.ws.live_agents() == [], "stray-agent", "an agent process is still running between runs")

    @invariant()
    def a_person_is_asked_for_every_manual_answer(self) -> None:
        ledger = self.ws.root / "runs/ledger.jsonl"
        if not ledger.exists():
            return
        taken = Counter()
        for line in ledger.read_text().splitlines():
            e = json.loads(line)
            if e.get("agent") == "me" and e.get("status") == "answered":
                taken[(e["feature"], e["step"], e["call"])] += 1
        for key, n in taken.items():
            given = self.answers[key]
            self.check(n <= given, "manual", f"{key} was taken as answered {n}x; a person answered it {given}x")

    @invariant()
    def agents_never_steer_the_loop(self) -> None:
        marked = [
            p.relative_to(self.ws.root).as_posix()
            for p in [self.ws.root / "devloop.yaml", *self.ws.root.glob("plans/*/evaluation.md")]
            if p.is_file() and "TRESPASS" in p.read_text()
        ]
        self.check(not marked, "trespass", f"an author's write outside its reach was kept: {marked}")

    @invariant()
    def no_blank_artifact_counts_as_done(self) -> None:
        blank = [
            (f, step, p)
            for f in FEATURES
            for step, rec in self.lock(f).steps.items()
            for p in rec.outputs
            if p.startswith("plans/") and (self.ws.root / p).is_file() and not (self.ws.root / p).read_text().strip()
        ]
        if not blank:
            return
        status = json.loads(self.ws.devloop("status", "--json").stdout)
        for f, step, p in blank:
            state = status[f][step]["state"]
            self.check(state not in ("fresh", "drifted"), "blank", f"{p} is empty but {step}:{f} reads {state}")

    # -- the end: once agents behave, everything settles -------------------------------------
    def teardown(self) -> None:
        try:
            self.settle()
        finally:
            for pid in self.ws.live_agents():
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def settle(self) -> None:
        """Agents pass, flags go: following what devloop says must reach 'everything up to date'."""
        self.modes = {}
        self.risk = False
        self.control()
        for f in FEATURES:
            for flag in ("smoke-fail", "fire"):
                (self.ws.root / f".{flag}-{f}").unlink(missing_ok=True)
        for _ in range(25):
            r = self.doit()
            if "Everything is up to date" in r.stdout:
                return
            for line in next_lines(r.stdout) + next_lines(self.status()):
                if self.answer(line):
                    continue
                for f, gate in re.findall(r"devloop approve ([a-z0-9-]+) ([a-z-]+)", line):
                    if self.ws.devloop("approve", f, gate).returncode == 0:
                        subject = json.dumps(self.lock(f).gates[gate].subject, sort_keys=True)
                        self.approved.add((f, gate, subject))
                for f in re.findall(r"devloop deployed ([a-z0-9-]+)", line):
                    if self.ws.devloop("deployed", f).returncode == 0:
                        self.doit(f"smoke:{f}")
                claim = re.match(r"devloop claim ([a-z0-9-]+) (.+?)(?:, then doit)?$", line)
                if claim:  # two people's answers landed while both features waited: each claims its own files
                    f, named = claim[1], claim[2].split()
                    mine = [p for p in named if p in self.wrote.get(f, set())]
                    if mine:
                        self.ws.devloop("claim", f, *mine)
        self.fail(
            "settle", f"25 rounds of doing what devloop says did not settle the loop:\n{self.last}\n{self.status()}"
        )


LoopMachine.TestCase.settings = settings.get_profile(os.environ.get("DEVLOOP_STATEFUL", "ci"))
TestLoopStates = pytest.mark.long(LoopMachine.TestCase)
