"""Confinement: what a program devloop starts may write is decided before it starts, not checked after.

Agents, local gates, smoke scripts and command checks run code an agent
wrote or chose. Each runs under a *reach* (:mod:`devloop.confine.reach`):
the places in the workspace it may write, all others read-only. On Linux
the operating system enforces it (bubblewrap, :mod:`devloop.confine.bwrap`);
a snapshot of the workspace taken before the program runs and compared
after it (:mod:`devloop.confine.snapshot`) is the second layer, and the only
one where bubblewrap cannot start. :mod:`devloop.confine.watch` joins them
around one run; :mod:`devloop.runtime.journal` tells devloop's own writes
from an agent's.

May import config and the runtime (atomic writes, processes, locks, the
journal of devloop's own writes); nothing here imports steps, agents or
views.
"""
