#!/usr/bin/env python3
"""Make one call of a real agent CLI through devloop's command agent, confined or not; print how it ended.

    run_confined.py PRESET PROGRAM_DIR WORKSPACE judge|author bubblewrap|none TIMEOUT

Run as root or as another user (the tests use setpriv): devloop's sandbox
is built for whoever runs it. The workspace gets the folders an
implementer's sandbox binds. Prints one JSON object: status, detail,
exit code.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from devloop.agents.base import AgentRequest, RoleKind
from devloop.agents.command import CommandAgent
from devloop.config.load import parse_config
from devloop.config.workspace import Workspace
from devloop.confine import reach as R
from devloop.confine.watch import Box


class Config:
    sandbox_writable = ("~", "/tmp", "/var/tmp")


def main() -> int:
    preset, program_dir, where, kind, sandbox, timeout = sys.argv[1:7]
    root = Path(where)
    for folder in ("plans/f", "scripts/smoke"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    os.environ["PATH"] = f"{program_dir}:/usr/local/bin:/usr/bin:/bin"
    cfg = parse_config(json.dumps({"agents": {"x": {"kind": "command", "preset": preset, "timeout": float(timeout)}}}))
    agent = CommandAgent("x", cfg.agents["x"])
    role = RoleKind.JUDGE if kind == "judge" else RoleKind.AUTHOR
    box = None
    if sandbox == "bubblewrap":
        ws = Workspace(root)
        ws.__dict__["config"] = Config()
        expected = frozenset({"plans/f/deviations.md", "scripts/smoke/f.sh"})
        reach = R.for_judge(root) if kind == "judge" else R.Reach(root, R.IMPLEMENTER, "f", expected)
        box = Box(ws, reach, "bubblewrap", say=False)
    request = AgentRequest("Reply with OK.", root, "f", "implement", "implementer", role, "call", box=box)
    if box is None:
        result = agent.run(request)
    else:
        with box.watching():
            result = agent.run(request)
    print(json.dumps({"status": result.status.value, "detail": result.detail, "exit_code": result.exit_code}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
