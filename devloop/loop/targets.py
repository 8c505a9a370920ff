"""Each step's artifacts as doit targets, read from its feature's lock: what the graph and the memo rest on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devloop.steps.order import ORDER

if TYPE_CHECKING:
    from devloop.config.workspace import Workspace


# What each step always writes, besides what its lock record lists.
ALWAYS = {
    "plan": ("plan.md", "validation.md"),
    "plan_review": ("plan-review.md",),
    "implement": ("deviations.md",),
    "code_review": ("reviews.md",),
    "evaluate": ("evaluation.md",),
}


def artifacts(ws: Workspace, feature: str) -> dict[str, list[str]]:
    """Each step's artifacts as doit targets: the files it always writes, and those its lock record lists.

    Only the feature's own files (``plans/<f>/``, its smoke script): code
    may be shared between features, and doit refuses two tasks with one
    target. Kept in the verdict memo while the lock is unchanged.
    """
    from devloop.provenance import LOCK_NAME  # lazy: off the path of a no-op doit and devloop --help
    from devloop.provenance.hashing import stat_key  # lazy: off the path of a no-op doit and devloop --help

    key = f"{feature}:targets"
    hit = ws.verdicts.get(key)
    if isinstance(hit, dict):
        return hit
    lock_key = ("targets", feature, stat_key(str(ws.lock_path(feature))))  # this lock version, judged once
    made = ws.memo.get(lock_key)
    if made is None:
        made = ws.memo[lock_key] = _artifacts(ws, feature)
        if ws.verdicts.keeps:
            ws.verdicts.record(key, made, [f"plans/{feature}/{LOCK_NAME}"])
    return made


def _artifacts(ws: Workspace, feature: str) -> dict[str, list[str]]:
    from devloop.runtime.errors import DevloopError  # lazy: off the path of a no-op doit and devloop --help

    try:
        lock = ws.read_lock_shared(feature)
    except DevloopError:  # a damaged lock is reported by the step itself, in its own words
        lock = None
    own = (f"plans/{feature}/", f"scripts/smoke/{feature}.sh")
    claimed: set[str] = set()  # a file a later step rewrites (plan.md in a revision) stays its maker's
    out: dict[str, list[str]] = {}
    for step in ORDER:
        paths = [f"plans/{feature}/{name}" for name in ALWAYS.get(step, ())]
        if step == "implement":
            paths.append(f"scripts/smoke/{feature}.sh")
        record = lock.steps.get(step) if lock is not None else None
        if record is not None and step != "smoke":
            paths += [p for p in record.outputs if p.startswith(own) and "/.history/" not in p]
        out[step] = sorted(set(paths) - claimed)
        claimed.update(paths)
    return out
