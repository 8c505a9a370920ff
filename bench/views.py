"""Benchmark: what the read-only views cost on a workspace of up-to-date features.

    .venv/bin/python bench/views.py [--features 100] [--repeat 3] [--jobs 2] [--keep]

It builds a workspace with bench/status.py's generator (replay agents), gives
each feature its own evaluation (scores and suggestions that vary, so the
roll-up has groups to form), brings it up to date with the real ``doit``
once, checks ``devloop status --json`` is all fresh, then times (median and
min of ``--repeat`` runs) ``devloop status --json``, ``devloop graph``,
``devloop report <first feature>`` and ``devloop rollup --force``. Until the
views are registered in ``devloop.cli.main`` they run through a shim that
adds them to the same CLI. It prints figures only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import status as gen  # bench/status.py: the workspace generator

SUGGESTIONS = (
    "State the rollback threshold as a number in the plan",
    "The plan should state each rollback threshold as a number",
    "Reviewers must cite file and line for every finding",
    "Run the smoke script against staging before review",
)
DIMS = ("plan_quality", "review_usefulness", "implementation_drift", "trigger_correctness")
SHIM = (
    "from devloop.cli.main import cli, main\n"
    "from devloop.cli.views import COMMANDS\n"
    "for c in COMMANDS:\n"
    "    cli.commands.get(c.name) or cli.add_command(c)\n"
    "main()\n"
)


def evaluation(i: int) -> str:
    scores = {d: 3 + (i + k) % 3 for k, d in enumerate(DIMS)}
    low = [d for d, v in scores.items() if v < 4]
    lines = ["Scored.", "", "```yaml", "scores:", *(f"  {d}: {v}" for d, v in scores.items()), "findings:"]
    for k, d in enumerate(low or ["plan_quality"]):
        lines += [
            f"  - dimension: {d}",
            f"    evidence: plans/feat-{i:04d}/plan.md:1",
            "    impact: a reviewer had to ask",
            f"    suggestion: {SUGGESTIONS[(i + k) % len(SUGGESTIONS)]}",
        ]
    return "\n".join([*lines, "```", ""])


def make_workspace(root: Path, features: list[str]) -> None:
    gen.make_devloop_workspace(root, features)
    rec = root / "recorded"
    for i, f in enumerate(features):
        gen.write(rec / f / "evaluate" / "evaluate.md", evaluation(i))


def check_fresh(root: Path, features: list[str]) -> None:
    """Every step of every feature up to date; smoke never ran (nothing was deployed), which is fine."""
    data = json.loads(gen.run([*gen.DEVLOOP, "status", "--json"], root).stdout)
    bad = [
        f"{f}:{s} {st['state']}"
        for f, steps in data.items()
        for s, st in steps.items()
        if isinstance(st, dict) and st["state"] != "fresh" and not (s == "smoke" and st["state"] == "new")
    ]
    if sorted(data) != features or bad:
        raise gen.BenchError("the workspace is not up to date:\n" + "\n".join(bad[:20]))


def devloop_argv() -> list[str]:
    """The real console script once the views are registered, else the shim (same CLI, same error handling)."""
    done = subprocess.run([*gen.DEVLOOP, "graph", "--help"], capture_output=True, text=True, env=gen._env())
    return gen.DEVLOOP if done.returncode == 0 else [sys.executable, "-c", SHIM]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2, help="doit -n for the one real run (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspace and print where")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="devloop-bench-views-"))
    gen.PYCACHE = tmp / "pycache"
    root, features = tmp / "ws", gen.feature_names(args.features)
    try:
        make_workspace(root, features)
        took, used = gen.first_run(root, args.jobs)
        if gen._failed(used):
            raise gen.BenchError(f"`doit` failed:\n{gen._tail(used.stdout)}\n{gen._tail(used.stderr)}")
        check_fresh(root, features)
        dl = devloop_argv()
        commands = {
            "devloop status --json": ([*gen.DEVLOOP, "status", "--json"], root),
            "devloop graph": ([*dl, "graph"], root),
            f"devloop report {features[0]}": ([*dl, "report", features[0]], root),
            "devloop rollup --force": ([*dl, "rollup", "--force"], root),
        }
        times = gen.time_commands(commands, args.repeat)
        width = max(len(k) for k in commands)
        print(f"features: {args.features}; first doit: {took:.2f} s; repeat: {args.repeat}")
        print(f"{'command'.ljust(width)}  {'median s':>9}  {'min s':>7}")
        for name, values in times.items():
            print(f"{name.ljust(width)}  {statistics.median(values):9.3f}  {min(values):7.3f}")
        return 0
    except gen.BenchError as exc:
        print(f"bench/views.py: {exc}", file=sys.stderr)
        return 1
    finally:
        gen.leave(tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
