"""Benchmark: a whole workspace's answers put back from the answer cache by feature snapshots.

    .venv/bin/python bench/restore.py [--features 10,100,1000] [--repeat 3] [--keep] [--where DIR]

For each size N, bench/status.py's workspace (every role a replay agent) is
committed with its briefs and built once; each proven feature leaves its
snapshot (devloop.loop.snapshots) in the local store and in a shared folder
store marked ``snapshots: true``. Then, printed as figures (nothing about
time is asserted):

1. the no-op ``doit`` of the built workspace;
2. **from the local store**: every file the steps wrote, locks included, is
   removed (``git clean`` of the untracked outputs; the briefs stay), and
   ``doit`` puts the workspace back; target (issue 31): at most 2x the no-op;
3. **a fresh clone** of the briefs-only commit restoring from the shared store;
4. **the disk's floor**: right after each restore, its files removed again
   and written back the same way (a temp file beside each, renamed over
   it, the locks fsynced) by a bare loop that checks nothing. A
   restore cannot cost less than creating its files, and on some disks
   that alone is more than the no-op; the bench says how much of the
   restore is the disk's (restore / floor, each restore with the floor
   measured right after it).

It exits non-zero when a run fails, asks an agent, or leaves a file other
than it was.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import status as S  # bench/status.py: workspace generators and command helpers
from cache import committed_workspace, first_build  # bench/cache.py: the same committed workspace

RESTORE_TARGET = 2.0
YAML = "sandbox_writable: ['~']\ncache:\n  stores:\n    - {{url: '{url}', push: true, snapshots: true}}\n"


def outputs(root: Path) -> dict[str, bytes]:
    """Every file below plans/, src/ and scripts/ (the steps' files and the briefs), by path."""
    out = {}
    for top in ("plans", "src", "scripts"):
        for folder, dirs, names in os.walk(root / top):
            dirs[:] = [d for d in dirs if d != ".history"]
            for name in names:
                p = Path(folder) / name
                out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def asked_since(root: Path, lines: int) -> list[dict]:
    entries = [json.loads(x) for x in (root / "runs/ledger.jsonl").read_text().splitlines() if x.strip()]
    return [e for e in entries[lines:] if e.get("status") != "restored"]


def ledger_lines(root: Path) -> int:
    path = root / "runs/ledger.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def timed_restore(root: Path, n: int, want: dict[str, bytes]) -> float:
    lines = ledger_lines(root)
    t0 = time.perf_counter()
    done = S.run([*S.DOIT], root, check=False, timeout=7200)
    took = time.perf_counter() - t0
    if S._failed(done) or f"Restored from the answer cache: {n} feature" not in done.stdout:
        said = "\n".join(x for x in done.stdout.splitlines() if not x.startswith(("Step: ", "Artifact: ", "Next: ")))
        notes = "\n".join(x for x in done.stderr.splitlines() if not x.startswith("... "))  # not the progress lines
        raise S.BenchError(
            f"the restore of {n} features did not restore them all (exit {done.returncode})\n"
            f"{S._tail(said)}\n--- stderr (tail) ---\n{S._tail(notes)}"
        )
    if asked := asked_since(root, lines):
        raise S.BenchError(f"the restore asked {len(asked)} agents: {asked[0]}")
    got = outputs(root)
    if got != want:
        wrong = sorted(p for p in set(got) | set(want) if got.get(p) != want.get(p))
        raise S.BenchError(f"the restore left {len(wrong)} files other than they were: {wrong[:5]}")
    return took


def written_by_steps(root: Path) -> dict[str, bytes]:
    """The files a restore writes: every untracked file below plans/, src/ and scripts/, by path."""
    done = S.run(["git", "ls-files", "-o", "--exclude-standard", "-z", "--", "plans", "src", "scripts"], root)
    return {rel: (root / rel).read_bytes() for rel in done.stdout.split("\0") if rel}


def floor(root: Path, files: dict[str, bytes]) -> float:
    """Seconds a bare loop takes to put ``files`` back below ``root`` as devloop's atomic writes do.

    The same outputs are removed first, as before a restore (``git clean``), so
    the files are created in the same folders, the missing ones made on the way.
    """
    S.run(["git", "clean", "-fdxq", "--", "plans", "src", "scripts"], root)
    create = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    t0 = time.perf_counter()
    for rel, data in files.items():
        path = root / rel
        tmp = f"{path.parent}/.{path.name}.{os.urandom(4).hex()}.tmp"
        try:
            fd = os.open(tmp, create, 0o600)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, create, 0o600)
        os.write(fd, data)
        if rel.endswith("/devloop.lock"):
            os.fsync(fd)
        os.fchmod(fd, 0o644)
        os.close(fd)
        os.replace(tmp, path)
    return time.perf_counter() - t0


def measure(tmp: Path, n: int, repeat: int) -> dict[str, float]:
    base = tmp / f"n{n}"
    dl = base / "devloop"
    committed_workspace(dl, S.feature_names(n), YAML.format(url=tmp / f"shared-{n}"))
    build = first_build(dl, n)
    want = outputs(dl)
    time.sleep(2.5)  # the verdict memo trusts no file younger than 2 s
    S.run([*S.DOIT], dl)
    noop = statistics.median(S.time_commands({"noop": ([*S.DOIT], dl)}, repeat)["noop"])
    files = written_by_steps(dl)
    local, clones, floors = [], [], []
    for k in range(repeat):
        S.run(["git", "clean", "-fdxq", "--", "plans", "src", "scripts"], dl)
        local.append(timed_restore(dl, n, want))
        floors.append(floor(dl, files))  # leaves the same bytes as the restore did
        clone = base / f"clone{k}"
        S.run(["git", "clone", "-q", str(dl), str(clone)], base)
        clones.append(timed_restore(clone, n, want))
        shutil.rmtree(clone)
    pairs = [a / b for a, b in zip(local, floors, strict=True)]
    return {
        "build": build,
        "noop": noop,
        "local": statistics.median(local),
        "clone": statistics.median(clones),
        "floor": statistics.median(floors),
        "files": len(files),
        "floor range": f"{min(floors):.3f}-{max(floors):.3f}",
        "over floor": statistics.median(pairs),
        "over floor range": f"{min(pairs):.2f}-{max(pairs):.2f}",
        "local range": f"{min(local):.3f}-{max(local):.3f}",
        "clone range": f"{min(clones):.3f}-{max(clones):.3f}",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", default="10,100", help="comma-separated sizes (default 10,100)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each command (default 3)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and print where")
    ap.add_argument(
        "--where", metavar="DIR",
        help="make the workspaces in DIR (another disk, e.g. /dev/shm) instead of the temp folder; not below a "
        "folder agents may write ($TMPDIR when set, ~), where devloop rightly refuses the shared store",
    )  # fmt: skip
    args = ap.parse_args(argv)
    with S.workdir("devloop-bench-restore-", args.keep, args.where) as tmp:
        return _sizes(args, tmp)


def _sizes(args: argparse.Namespace, tmp: Path) -> int:
    try:
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        for n in [int(x) for x in args.features.split(",") if x]:
            r = measure(tmp, n, args.repeat)
            ratio = r["local"] / r["noop"]
            verdict = "met" if ratio <= RESTORE_TARGET else "NOT met"
            print(f"{n} features ({7 * n} steps):")
            print(f"  first build (replay agents)        {r['build']:8.2f} s")
            print(f"  no-op doit                         {r['noop']:8.3f} s")
            print(f"  restored whole, local store        {r['local']:8.3f} s ({r['local range']})")
            print(f"  restore / no-op                    {ratio:8.2f}x (target <= {RESTORE_TARGET}x: {verdict})")
            print(f"  the disk's floor: {r['files']} files   {r['floor']:8.3f} s ({r['floor range']}); "
                  f"{r['floor'] / r['noop']:.2f}x the no-op")  # fmt: skip
            print(f"  restore / the floor (pairs)        {r['over floor']:8.2f}x ({r['over floor range']})")
            print(f"  fresh clone, from a shared store   {r['clone']:8.3f} s ({r['clone range']}); "
                  f"{r['clone'] / r['noop']:.2f}x the no-op")  # fmt: skip
    except S.BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
