"""What to type next for a feature, from its step statuses: one line, valid in that state.

``devloop status`` and ``devloop why`` print it; every suggestion is either a
command that works when typed now (``doit``, ``doit smoke:<f>``, ``devloop
approve``, ``devloop deployed``, ``devloop redo``) or an instruction for a
person (``write <files> ..., then doit``; ``wait ...``).
"""

from __future__ import annotations

from devloop.config.workspace import Workspace
from devloop.provenance.staleness import Status
from devloop.provenance.state import FeatureLock
from devloop.steps.registry import STEPS


def next_action(ws: Workspace, feature: str, status: dict[str, Status], lock: FeatureLock) -> str:
    """The one thing that advances ``feature`` now ('' when there is nothing to do)."""
    for step, st in status.items():
        if st.fresh or st.state == "blocked":
            continue
        if STEPS[step].optional(ws, feature, lock) and st.state == "new":
            continue
        if st.state == "gate":
            found = lock.pending_gate(step)
            if found is not None:
                return f"devloop approve {feature} {found[0]}  ({found[1].detail})"
        if st.state == "running":
            return "wait for the run working on it now, then devloop status"
        if step == "smoke":
            return _smoke(feature, st, lock)
        if st.state == "waiting":
            rec = lock.record(step)
            detail = (rec.detail if rec else "") or ""
            detail = detail.removeprefix("waiting: ")
            return f"{detail}, then doit" if detail.startswith(("write ", "revise ")) else detail
        return f"doit {step}:{feature}"
    drifted = [s for s, st in status.items() if st.state == "drifted"]
    if drifted:
        return f"devloop redo {feature} --drifted  (optional: {', '.join(drifted)} ran with other agents or templates)"
    return ""


def _smoke(feature: str, st: Status, lock: FeatureLock) -> str:
    deploy = lock.deploy
    if not deploy or lock.smoke.get("failed_deploy") == deploy.get("id"):
        return f"devloop deployed {feature}  (after you deploy {feature}; then doit smoke:{feature})"
    return f"doit smoke:{feature}"
