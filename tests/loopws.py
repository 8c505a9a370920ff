"""A temporary workspace whose roles are played by tests/fakes/loop_agent.py (answers vary per call) or a person.

Used by the state regression tests and the stateful (hypothesis) test: real
``doit`` and ``devloop`` processes, real agent subprocesses, a fresh HOME.
``DEVLOOP_UNDER_TEST=<checkout>`` runs those processes on another checkout's
code (e.g. an older commit, to see what the stateful test finds there) while
the test itself reads its locks with this one's (which migrates old locks).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devloop.provenance.lockfile import read_lock
from devloop.provenance.state import FeatureLock

BIN = Path(sys.executable).parent
LOOP_AGENT = Path(__file__).parent / "fakes" / "loop_agent.py"
DEFAULT_ROLES = {
    "planner": "cmd",
    "plan_reviewer": "cmd2",
    "red_team": "[cmd2, cmd3]",
    "implementer": "cmd",
    "reviewers": "[cmd2]",
    "verifier": "cmd2",
    "gcp_reviewer": "cmd2",
    "triage": "cmd2",
    "evaluator": "cmd2",
}
ENV_NAMES = ("LOOP_CONTROL", "LOOP_LOG", "LOOP_PIDS", "LOOP_PROMPTS")


class LoopWS:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root, self.tmp = root, tmp
        self.control_path = tmp / "control.json"
        self.log = tmp / "calls.jsonl"
        self.pids = tmp / "pids"
        self.prompts = tmp / "prompts"
        home = tmp / "home"
        home.mkdir(exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "LOOP_CONTROL": str(self.control_path),
            "LOOP_LOG": str(self.log),
            "LOOP_PIDS": str(self.pids),
            "LOOP_PROMPTS": str(self.prompts),
        }
        other = os.environ.get("DEVLOOP_UNDER_TEST")
        if other:
            self.env["PYTHONPATH"] = other
        self.devloop_cmd = [sys.executable, "-m", "devloop.cli.main"] if other else [str(BIN / "devloop")]
        self.roles = dict(DEFAULT_ROLES)
        self.extra = ""
        self.control()

    @classmethod
    def create(cls, tmp: Path, features: tuple[str, ...] = ("a",), **roles: str) -> LoopWS:
        root = tmp / "ws"
        root.mkdir()
        ws = cls(root, tmp)
        assert ws.run(["git", "init", "-q"]).returncode == 0
        assert ws.devloop("init").returncode == 0
        ws.config(**roles)
        for f in features:
            assert ws.devloop("new", f, f"Build {f}").returncode == 0
        return ws

    # -- set-up -----------------------------------------------------------
    def config(self, extra: str | None = None, **roles: str) -> None:
        self.roles.update(roles)
        if extra is not None:
            self.extra = extra
        agent = f"kind: command, argv: [{sys.executable}, {LOOP_AGENT}], timeout: 120"
        # one program, but each name its own model: separate seats, as independence requires
        agents = "".join(f"  {name}: {{{agent}, model: loop-{name}}}\n" for name in ("cmd", "cmd2", "cmd3", "cmd4"))
        text = f"env_allow: [{', '.join(ENV_NAMES)}]\nagents:\n{agents}roles:\n"
        text += "".join(f"  {k}: {v}\n" for k, v in self.roles.items()) + self.extra
        (self.root / "devloop.yaml").write_text(text)

    def control(self, modes: dict[str, str] | None = None, **kw: Any) -> None:
        data = {"modes": modes or {}, "risk": False, "sleep": 60, "route": "code", **kw}
        self.control_path.write_text(json.dumps(data))

    # -- running ----------------------------------------------------------
    def run(self, argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout)

    def doit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "doit", *args])

    def devloop(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run([*self.devloop_cmd, *args])

    def start_doit(self, *args: str) -> subprocess.Popen[str]:
        """A doit in its own session, as a terminal runs it: Ctrl-C is SIGINT to its whole group."""
        return subprocess.Popen(
            [sys.executable, "-m", "doit", *args],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def wait_for_agent(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.live_agents():
                return True
            time.sleep(0.05)
        return False

    def interrupt(self, proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[str, str]:
        os.killpg(proc.pid, sig)
        return proc.communicate(timeout=60)

    def live_agents(self) -> list[int]:
        """Agent processes still running: every process of a call whose environment names this workspace's LOOP_PIDS.

        Read from the host's process table, not from the agents' pid files: an
        agent confined by bubblewrap has a pid namespace of its own, and the pid
        it sees is not the host's.
        """
        mark = f"LOOP_PIDS={self.pids}".encode() + b"\0"
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                if mark not in environ or b"\0DEVLOOP_CALL_ID=" not in b"\0" + environ:  # doit has LOOP_PIDS too
                    continue
                if os.path.basename((entry / "cmdline").read_bytes().split(b"\0")[0]) == b"bwrap":
                    continue  # the sandbox around the agent, not the agent
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in ("Z", "X"):  # a zombie is dead
                out.append(int(entry.name))
        return out

    # -- inspecting -----------------------------------------------------------
    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def calls_since(self, n: int) -> list[tuple[str, str, str]]:
        return [(c["feature"], c["step"], c["call"]) for c in self.calls()[n:]]

    def prompt(self, step: str, call: str, feature: str = "a") -> str:
        """The last prompt the agent got for this call."""
        found = sorted(self.prompts.glob(f"*-{feature}-{step}-{call}.txt"), key=lambda p: int(p.name.split("-")[0]))
        assert found, f"no prompt for {feature} {step} {call}"
        return found[-1].read_text()

    def lock(self, feature: str = "a") -> FeatureLock:
        return read_lock(self.root / "plans" / feature / "devloop.lock", feature)

    def status(self) -> dict[str, Any]:
        r = self.devloop("status", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def next_lines(out: str) -> list[str]:
    """The commands on ``Next:`` lines (and in status's Next block), without their explanation."""
    found = re.findall(r"^Next: (.+)$", out, re.M) + re.findall(r"^  [a-z0-9-]+: (.+)$", out, re.M)
    return [n.split("  (")[0].strip() for n in found]
