"""What this doit run is, shared by the task graph and the reporter: its arguments and what it found.

Set while the graph is built and judged (devloop.loop.tasks), read when the run
ends (devloop.loop.reporter); one doit command per process.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ARGS: list[str] | None = None  # doit's arguments, when doit is run in-process (``devloop run``)


def command_line() -> list[str] | None:
    """The arguments of this doit command, or None when they cannot be known (then every task is built)."""
    if ARGS is not None:
        return ARGS
    prog = sys.argv[0] if sys.argv else ""
    if os.path.basename(prog) == "doit" or prog.endswith(os.path.join("doit", "__main__.py")):
        return sys.argv[1:]
    return None


NOT_DEPLOYED: list[str] = []  # features a `doit smoke` skipped: no deploy recorded
FAST: dict[str, int] = {}  # "settled": the steps the fast path proved up to date (the reporter counts them)
ROOT: list[str] = []  # the workspace this doit runs (set by dodo.py's setup): where the reporter writes proofs
# doit's dependency store of this run ("deps"), given by the first step task doit sets up
STORE: dict[str, Any] = {}


def db_record(dep_manager: Any, name: str) -> dict[str, Any] | None:
    """The task's entry in doit's json database itself (None with another backend): read without a call per key."""
    record = getattr(getattr(dep_manager, "backend", None), "_db", {}).get(name)
    return record if isinstance(record, dict) else None


def forget_outcome(dep_manager: Any, name: str) -> None:
    """Drop a finished run's outcome from doit's database: rewritten on every run, it would double its size."""
    dep_manager._set(name, "_values_:", {})
    record = db_record(dep_manager, name)
    if record is not None:
        record.pop("result:", None)
