"""Locks written by earlier versions, read as the current version.

Version 1 kept a boolean ``force``, a ``journal`` per step, gate stamps
marked ``pending`` and triage notes under ``context``; the meaning of each
carries over to the typed records of :mod:`devloop.provenance.state`.
"""

from __future__ import annotations

from typing import Any

# What version 1 becomes: version 2's values, spelled here so that this module stands below the records it
# feeds (a later version migrates from 2 in a function of its own).
VERSION, PENDING, APPROVED = 2, "pending", "approved"


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def migrate_v1(d: dict[str, Any]) -> dict[str, Any]:
    """Version 1 locks: a boolean force, a ``journal``, ``pending`` gate stamps and triage ``context``."""
    out = {**d, "version": VERSION}
    notes = _mapping(d.get("context"))
    out.pop("context", None)
    steps = {}
    for name, rec in _mapping(d.get("steps")).items():
        if not isinstance(rec, dict):
            continue
        rec = dict(rec)
        note = notes.get(name)
        if rec.pop("force", None):
            by = "triage" if note else "redo"
            rec["force"] = {"by": by, "reason": "triage route" if note else "devloop redo", "note": note}
        journal = rec.pop("journal", None)
        if isinstance(journal, dict):
            waiting = journal.get("waiting") or {}
            own = {"base", "calls", "inflight", "waiting", "started"}
            rec["attempt"] = {
                "n": 1,
                "base": journal.get("base") or {},
                "started": journal.get("started") or "",
                "note": None if rec.get("force") else note,
                "calls": journal.get("calls") or [],
                "inflight": journal.get("inflight"),
                "waits": {waiting["call"]: {"paths": waiting.get("paths") or [], "before": waiting.get("before") or {}}}
                if waiting.get("call")
                else {},
                "scratch": {k: v for k, v in journal.items() if k not in own},
                "calls_made": rec.pop("calls_before", 0),
            }
        steps[name] = rec
    out["steps"] = steps
    gates = {}
    for name, g in _mapping(d.get("gates")).items():
        if isinstance(g, dict):
            gates[name] = {**g, "status": PENDING if g.get("pending") or not g.get("by") else APPROVED}
            gates[name].pop("pending", None)
    out["gates"] = gates
    return out
