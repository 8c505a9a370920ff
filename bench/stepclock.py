"""Run a plain ``doit`` in this process and write devloop's own time per step it ran (agent time left out).

    python bench/stepclock.py OUT.json        (in a workspace; bench/scale.py runs it after an edit)

Each step is timed around ``devloop.loop.engine.execute`` (what a doit task
of a step calls); the time its agents took is the union of the intervals of
their calls (``StepRun.invoke``; reviewers asked in parallel overlap), and
is subtracted. What is left is devloop's: judging, prompt rendering, answer
parsing, lock and artifact writes, the change set, and the lazy imports the
first step of a process pays. OUT.json holds one ``{"step", "wall_s",
"agent_s", "own_s"}`` per step, in the order they ran.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from typing import Any

OUT = sys.argv[1]
sys.argv = ["doit"]  # as the command line of a plain doit

from devloop.loop import engine  # noqa: E402 - after sys.argv is a plain doit's
from devloop.steps import run as step_run  # noqa: E402

_rows: list[dict[str, Any]] = []
_calls: list[tuple[float, float]] = []
_mutex = threading.Lock()
_execute, _invoke = engine.execute, step_run.StepRun.invoke


def _union(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def execute(ws: Any, feature: str, step_name: str) -> Any:
    with _mutex:
        _calls.clear()
    t0 = time.perf_counter()
    try:
        return _execute(ws, feature, step_name)
    finally:
        wall = time.perf_counter() - t0
        with _mutex:
            agent = _union(list(_calls))
        _rows.append({"step": f"{step_name}:{feature}", "wall_s": wall, "agent_s": agent, "own_s": wall - agent})


def invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
    t0 = time.perf_counter()
    try:
        return _invoke(self, *args, **kwargs)
    finally:
        with _mutex:
            _calls.append((t0, time.perf_counter()))


engine.execute = execute  # type: ignore[assignment]
step_run.StepRun.invoke = invoke  # type: ignore[method-assign]


@atexit.register
def _write() -> None:
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(_rows, fh)


from doit.doit_cmd import DoitMain  # noqa: E402

sys.exit(DoitMain().run([]))
