"""Benchmark: what confinement adds to one agent call, at 10, 100 and 1000 features.

    .venv/bin/python bench/confine.py [--sizes 10,100,1000] [--repeat 30] [--program /bin/true] [--keep]

In a temporary workspace with N features (each with a brief, a plan, a
validation plan, a review, a lock and a smoke script), a small source tree
and a git repository of a few commits, one program (``/bin/true`` by
default: what is measured is devloop's cost, not an agent's) is run
``--repeat`` times each way, interleaved:

- ``bare``: ``devloop.runtime.procs.run_in_group`` alone, the unconfined call;
- ``bwrap implementer`` / ``bwrap judge``: through a
  :class:`devloop.confine.watch.Box` under bubblewrap: the bind list, the
  sandbox start, and the second layer's walk of what bubblewrap cannot bind;
- ``snapshots implementer`` / ``snapshots judge``: ``sandbox: off``, the
  snapshot layer alone (the whole workspace walked before and after, what is
  out of reach copied).

It prints, per size and way, the median and 90th percentile of one call in
ms, the median added to ``bare`` (the tracked figure; target <= 20 ms for
bubblewrap at 1000 features) and the number of bind arguments (which must
not grow with the features). It asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from devloop.config.workspace import Workspace  # noqa: E402
from devloop.confine import reach as R  # noqa: E402
from devloop.confine.watch import Box  # noqa: E402
from devloop.runtime.procs import run_in_group  # noqa: E402


def build(root: Path, features: int) -> None:
    """A workspace of ``features`` features, a source tree and a git history."""
    root.mkdir(parents=True)
    (root / "devloop.yaml").write_text("agents: {}\n")
    (root / "dodo.py").write_text("from devloop.tasks import setup\nsetup(globals())\n")
    for i in range(features):
        f = f"feature-{i}"
        folder = root / "plans" / f
        (folder / "reviews").mkdir(parents=True)
        for name in ("brief.md", "plan.md", "validation.md", "devloop.lock", "reviews.md"):
            (folder / name).write_text(f"# {name} of {f}\n" + "text\n" * 20)
        (folder / "reviews" / "round1-r1.md").write_text("VOTE: PRODUCTION GRADE\n")
        smoke = root / "scripts" / "smoke" / f"{f}.sh"
        smoke.parent.mkdir(parents=True, exist_ok=True)
        smoke.write_text("#!/bin/sh\nexit 0\n")
    for i in range(200):
        src = root / "src" / f"pkg{i % 10}" / f"mod{i}.py"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(f"VALUE = {i}\n" * 30)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@x"
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)


class Config:
    sandbox_writable = ("~", "/tmp", "/var/tmp")


def workspace(root: Path, layer: str) -> Workspace:
    ws = Workspace(root)
    ws.__dict__["config"] = Config()
    ws.memo["control-files"] = frozenset(R.CONTROL_FILES)
    return ws


def timed(box: Box | None, argv: list[str], root: Path) -> float:
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    start = time.perf_counter()
    if box is None:
        run_in_group(argv, root, env, 60)
    else:
        with box.watching():
            run_in_group(box.wrap(argv, root, env), root, env, 60)
    return (time.perf_counter() - start) * 1000


def ways(root: Path) -> dict[str, Any]:
    expected = frozenset({"plans/feature-0/deviations.md", "scripts/smoke/feature-0.sh"})
    implementer = R.Reach(root, R.IMPLEMENTER, "feature-0", expected, frozenset(R.CONTROL_FILES))
    judge = R.for_judge(root)
    out: dict[str, Any] = {"bare": None}
    for layer, name in (("bubblewrap", "bwrap"), ("off", "snapshots")):
        ws = workspace(root, layer)
        out[f"{name} implementer"] = Box(ws, implementer, layer, history=root.parent / "history", say=False)
        out[f"{name} judge"] = Box(ws, judge, layer, history=root.parent / "history", say=False)
    return out


def binds(box: Box, argv: list[str], root: Path) -> int:
    wrapped = box.wrap(argv, root, {"PATH": os.environ.get("PATH", os.defpath)})
    return sum(a in ("--bind", "--ro-bind") for a in wrapped)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--program", default="/bin/true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspaces")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="devloop-bench-confine-"))
    argv = [args.program]
    print(f"program: {args.program}; {args.repeat} calls per way, interleaved; times in ms")
    print(f"{'features':>8}  {'way':<22} {'median':>8} {'p90':>8} {'added':>8} {'binds':>6}")
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            root = tmp / f"ws-{size}" / "ws"
            build(root, size)
            boxes = ways(root)
            times: dict[str, list[float]] = {k: [] for k in boxes}
            for box in boxes.values():  # warm-up: the probe, caches
                timed(box, argv, root)
            for _ in range(args.repeat):
                for name, box in boxes.items():
                    times[name].append(timed(box, argv, root))
            bare = statistics.median(times["bare"])
            for name, box in boxes.items():
                values = sorted(times[name])
                med = statistics.median(values)
                p90 = values[int(0.9 * (len(values) - 1))]
                n = binds(box, argv, root) if box is not None and box.mode == "bubblewrap" else 0
                added = "" if box is None else f"{med - bare:8.2f}"
                print(f"{size:>8}  {name:<22} {med:8.2f} {p90:8.2f} {added:>8} {n:>6}")
    finally:
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
