"""kill -9 at points spread over a whole loop, each followed by a re-run (see tests/crash_harness.py).

A few points in CI (``DEVLOOP_CRASH_POINTS``, default 4); ``python -m tests.crash_harness 40`` for many.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.crash_harness import run


@pytest.mark.long
def test_kill_9_anywhere_in_the_loop_loses_nothing_and_repeats_no_finished_answer(tmp_path: Path) -> None:
    n = int(os.environ.get("DEVLOOP_CRASH_POINTS", "4"))
    points = run(n, tmp_path)
    print(f"{len(points)} kill points tried")
    assert len(points) == n
    assert {p.phase for p in points} >= {0}
    problems = {f"command {p.phase} after {p.after:.2f}s": p.problems for p in points if p.problems}
    assert not problems, problems
