"""Shared fixtures: temp git workspaces driven through the real `doit` and `devloop` entry points."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
FAKES = Path(__file__).parent / "fakes"
FAKE_AGENT = FAKES / "fake_agent.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files holding a test marked ``long`` first, each whole and in its order (a test that checks what a
    long one left in its process stays right after it), then the rest as collected. With several workers, a
    test of a minute or two started last would leave the others idle until it ends. Every worker sorts alike,
    as xdist needs."""
    long_files = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("long")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in long_files)


@pytest.fixture(autouse=True)
def _no_fsspec_work_left() -> Iterator[None]:
    """Nothing a test started on fsspec's I/O thread outlives it. A bucket given up leaves gcsfs retrying
    there for the rest of its timeout, and its backoff draws from the global ``random``: Hypothesis saw
    that state change under a later property test of the same worker and warned."""
    yield
    asyn = sys.modules.get("fsspec.asyn")
    loop = asyn.loop[0] if asyn is not None else None
    if loop is None or loop.is_closed():
        return

    async def cancel_the_rest() -> None:
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(cancel_the_rest(), loop).result(timeout=30)


def happy_script(feature: str) -> dict[str, Any]:
    """Scripted answers for one feature's trip through the whole loop (10 agent calls)."""
    p = f"plans/{feature}"
    evaluation = (
        "Scored.\n\n```yaml\nscores:\n  plan_quality: 4\n  review_usefulness: 5\n  implementation_drift: 4\n"
        "  trigger_correctness: 3\nfindings:\n  - dimension: trigger_correctness\n"
        f"    evidence: {p}/plan.md:1\n    impact: little\n    suggestion: a quick fix would do\n```\n"
    )
    return {
        f"{feature}/plan/plan": {"write": {f"{p}/plan.md": "# Plan\nDo it.\n", f"{p}/validation.md": "# Checks\n"}},
        f"{feature}/plan_review/round1-review": {"answer": f"- [P1] {p}/plan.md:2 — vague\nVERDICT: REVISE\n"},
        f"{feature}/plan_review/round1-revise": {"write": {f"{p}/plan.md": "# Plan\nDo it well.\n"}},
        f"{feature}/plan_review/round2-review": {"answer": "VERDICT: APPROVE\n"},
        f"{feature}/implement/implement": {
            "write": {
                f"src/{feature}.py": "print('hi')\n",
                f"{p}/deviations.md": "No deviations.\n",
                f"scripts/smoke/{feature}.sh": "#!/bin/sh\nexit 0\n",
            }
        },
        f"{feature}/code_review/round1-judge": {
            "answer": f"- [P1] src/{feature}.py:1 — prints\n- [P3] src/ghost.py:3 — no such file\nVOTE: NEEDS WORK\n"
        },
        f"{feature}/code_review/round1-verify": {"answer": "CLAIM 1: CONFIRMED\n"},
        f"{feature}/code_review/round1-fix": {"write": {f"src/{feature}.py": "import sys\nsys.stdout.write('hi')\n"}},
        f"{feature}/code_review/round2-judge": {"answer": "VOTE: PRODUCTION GRADE\n"},
        f"{feature}/evaluate/evaluate": {"answer": evaluation},
        # later passes (after edits) approve straight away
        "plan_review": {"answer": "VERDICT: APPROVE\n"},
        "code_review": {"answer": "VOTE: PRODUCTION GRADE\n"},
        "evaluate": {"answer": evaluation},
    }


class WS:
    """A temp git repository made a devloop workspace, with scripted fake agents."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.script_path = tmp / "script.json"
        self.log = tmp / "calls.jsonl"
        self.env = {
            **os.environ,
            "HOME": str(tmp / "home"),
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "FAKE_AGENT_SCRIPT": str(self.script_path),
            "FAKE_AGENT_LOG": str(self.log),
        }
        self.env.pop("DEVLOOP_WAIT", None)
        (tmp / "home").mkdir(exist_ok=True)
        self.script: dict[str, Any] = {}

    # -- set-up -----------------------------------------------------------
    def config(self, extra: str = "", agents: tuple[str, ...] = ("author", "judge"), **roles: str) -> None:
        """devloop.yaml with fake agents; each gets its name as `--agent NAME` so the log shows who ran."""
        defaults = {
            "planner": "author",
            "plan_reviewer": "judge",
            "implementer": "author",
            "reviewers": "[judge]",
            "verifier": "judge",
            "evaluator": "judge",
        }
        defaults.update(roles)
        text = "env_allow: [FAKE_AGENT_SCRIPT, FAKE_AGENT_LOG]\nagents:\n"
        for name in agents:
            text += (
                f"  {name}: {{kind: command, argv: [{sys.executable}, {FAKE_AGENT}, --agent, {name}], timeout: 60}}\n"
            )
        text += "roles:\n" + "".join(f"  {k}: {v}\n" for k, v in defaults.items()) + extra
        (self.root / "devloop.yaml").write_text(text)

    def set_script(self, script: dict[str, Any]) -> None:
        self.script = script
        self.script_path.write_text(json.dumps(script))

    def add_feature(self, feature: str, script: bool = True) -> None:
        r = self.devloop("new", feature, f"Build {feature}")
        assert r.returncode == 0, r.stderr
        if script:
            self.set_script({**self.script, **happy_script(feature)})

    # -- running ----------------------------------------------------------
    def run(self, argv: list[str], cwd: Path | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
        where = cwd or self.root
        return subprocess.run(argv, cwd=where, env=self.env, capture_output=True, text=True, timeout=120, **kw)

    def doit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "doit", *args])

    def devloop(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run([str(BIN / "devloop"), *args])

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["git", *args])

    # -- inspecting ---------------------------------------------------------
    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def agents_since(self, n: int) -> list[tuple[str, str, str]]:
        """(step, call id, agent name) per call, from the `--agent NAME` argument."""
        out = []
        for c in self.calls()[n:]:
            argv = c["argv"]
            out.append((c["step"], c["call_id"], argv[argv.index("--agent") + 1] if "--agent" in argv else "?"))
        return out

    def calls_since(self, n: int) -> list[tuple[str, str, str]]:
        return [(c["feature"], c["step"], c["call_id"]) for c in self.calls()[n:]]

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()


def implemented_workspace(tmp: Path) -> Path:
    """A workspace (in ``tmp``) whose feature ``a`` is implemented and waits for its code review, one cycle at most."""
    ws = WS(tmp / "ws", tmp)
    ws.root.mkdir()
    assert ws.git("init", "-q").returncode == 0 and ws.devloop("init").returncode == 0
    ws.config(extra="steps:\n  code_review: {max_cycles: 1}\n")
    ws.add_feature("a")
    r = ws.doit("implement:a")
    assert r.returncode == 0, r.stdout + r.stderr
    return ws.root


@pytest.fixture
def ws(tmp_path: Path) -> WS:
    root = tmp_path / "ws"
    root.mkdir()
    w = WS(root, tmp_path)
    assert w.git("init", "-q").returncode == 0
    r = w.devloop("init")
    assert r.returncode == 0, r.stderr
    w.config()
    return w
