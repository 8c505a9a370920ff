"""The environments devloop gives the programs it runs.

Agents, local gates, smoke scripts and command checks all run code an agent
wrote or chose, so each gets an allow-listed environment: the few variables
any program needs, plus the names the user listed in devloop.yaml, never
devloop's own secrets by default. Deploy and rollback commands come from the
user's config and run with the user's environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

# Variables every program needs to run at all; nothing else passes unless allowed.
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TERM", "USER", "LOGNAME", "SHELL", "TZ")


def allow_listed(names: Iterable[str] = (), values: Mapping[str, str] | None = None) -> dict[str, str]:
    """BASE_ENV and ``names`` taken from devloop's environment, then ``values`` (set by devloop or the config)."""
    env = {name: os.environ[name] for name in (*BASE_ENV, *names) if name in os.environ}
    env.update(values or {})
    return env
