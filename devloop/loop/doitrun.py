"""What this doit run is, shared by the task graph and the reporter: its arguments and what it found.

Set while the graph is built and judged (devloop.loop.tasks), read when the run
ends (devloop.loop.reporter); one doit command per process.
"""

from __future__ import annotations

import os
import sys

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
