"""Benchmark: what the answer cache costs per call, and restoring a whole workspace's answers from it.

    .venv/bin/python bench/cache.py [--features 10,100] [--entries 5000] [--repeat 3] [--keep]

Two measurements, printed as figures (it asserts nothing about time):

1. **Lookup cost per call, local store.** A folder store of ``--entries``
   judge answers (each an entry and a blob of a few KB); the median time of
   a judge key (sha256 of a 20 KB prompt and the agent's seat), a hit (entry
   read and checked, blob read and verified) and a miss, each over 2,000
   calls. Then an author's key in a workspace of N features: the git blob ids
   of every file the author may read (git's index proves clean files without
   reading them), timed as a run meets it: the first call in a process, the
   next one, the next after one file was edited, after one was created
   (``--author-in DIR...`` times only this, in existing workspaces).
   Target (issue 31): at most 5 ms per call.
2. **Restoring a workspace.** For each size N, bench/status.py's workspace
   (every role a replay agent) is committed with its briefs and a shared
   folder store (``push: true``), brought up to date with ``doit`` (timed: the
   first build, whose answers go to the store; the same workspace with the
   cache off is built beside it: what the cache adds when nothing hits), then its no-op ``doit`` is
   timed; a fresh ``git clone`` of the briefs-only commit then runs ``doit``
   (timed: every answer restored from the shared store, none asked). Target:
   the restore run at most 2x the no-op of the same workspace.

It exits non-zero only when a workspace is not what it should be (a run
failed; a clone's run asked an agent instead of restoring).
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

LOOKUP_TARGET_MS = 5.0
RESTORE_TARGET = 2.0


def _median_ms(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def lookups(tmp: Path, entries: int) -> dict[str, float]:
    """Median milliseconds of a judge key, a hit and a miss on a local store of ``entries`` answers."""
    from devloop.config.workspace import Workspace
    from devloop.provenance.cache import keys
    from devloop.provenance.cache.entries import Entry
    from devloop.provenance.hashing import hash_bytes
    from devloop.steps.answer_cache import AnswerCache

    root = tmp / "lookups"
    root.mkdir()
    (root / "devloop.yaml").write_text("agents: {}\n", encoding="utf-8")
    cache = AnswerCache(Workspace(root))
    made = []
    for i in range(entries):
        text = f"Review {i}.\n" + "Looks right. " * 200 + "\nVOTE: PRODUCTION GRADE\n"
        data = text.encode()
        sha = hash_bytes(data)
        key = hash_bytes(f"question {i}".encode())
        cache.keep(Entry(key, "code_review", "reviewers", f"round1-r{i}", "judge", answer=sha), {sha: data})
        made.append(key)
    prompt = "Review this change.\n" + "x = 1\n" * 3500
    seat = {"kind": "command", "argv": ["codex", "exec"], "model": "m"}
    key_ms = _median_ms(
        lambda: keys.call_key(
            step="code_review", role="reviewers", call_id="round1-r", prompt=prompt, contract="c", seat=seat
        ),
        2000,
    )
    picks = iter(made * 2)
    hit_ms = _median_ms(lambda: cache.find(next(picks)), min(2000, len(made)))
    misses = iter(hash_bytes(f"never {i}".encode()) for i in range(2000))
    miss_ms = _median_ms(lambda: cache.find(next(misses)), 2000)
    return {"judge key": key_ms, "hit": hit_ms, "miss": miss_ms}


AUTHOR_PROBE = """
import json, sys, time
from pathlib import Path
from devloop.config.workspace import Workspace
from devloop.steps.answer_cache import state
ws = Workspace(Path(sys.argv[1]))
feature = ws.features()[0]
lock = ws.read_lock(feature)
t0 = time.perf_counter()
n = len(state(ws, lock, "implement", feature))
print(json.dumps([(time.perf_counter() - t0) * 1000, n]))
"""


def author_state_ms(root: Path, repeat: int = 5) -> dict[str, float]:
    """Median milliseconds of the state part of an author's key in ``root``, as a run meets it.

    ``first``: the first call in a new process (everything listed and read); ``again``: the next call with
    nothing written; ``edited``: the next call after one tracked file was rewritten in place; ``created``:
    the next call after a new file was made (git is asked about its name); ``files``: how many files the
    key covers. Each call in one process keeps what it found (devloop.provenance.cache.listing).
    """
    import subprocess

    from devloop.config.workspace import Workspace
    from devloop.steps import change
    from devloop.steps.answer_cache import state

    env = dict(os.environ)
    if S.PYCACHE is not None:
        env["PYTHONPYCACHEPREFIX"] = str(S.PYCACHE)
    firsts = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", AUTHOR_PROBE, str(root)], capture_output=True, text=True, env=env, check=True
        )
        firsts.append(json.loads(done.stdout)[0])
    ws = Workspace(root)
    feature = ws.features()[0]
    lock = ws.read_lock(feature)
    sizes = []

    def once() -> None:
        change.forget(ws)  # as a run does after each write
        sizes.append(len(state(ws, lock, "implement", feature)))

    once()  # this process's first call
    again = _median_ms(once, repeat)
    listed = sorted(p for p in (change.listing_for_author(ws, feature) or ()) if p.startswith("src/"))
    target = root / (listed[0] if listed else "devloop.yaml")
    original = target.read_bytes()
    edited, created = [], []
    try:
        for i in range(repeat):
            target.write_bytes(original + b"\n" * (i % 2))
            t0 = time.perf_counter()
            once()
            edited.append((time.perf_counter() - t0) * 1000)
            new = root / "src" / f"bench-new-{i}.txt"
            new.write_text("new\n", encoding="utf-8")
            t0 = time.perf_counter()
            once()
            created.append((time.perf_counter() - t0) * 1000)
            new.unlink()
            once()
    finally:
        target.write_bytes(original)
    return {
        "first": statistics.median(firsts),
        "again": again,
        "edited": statistics.median(edited),
        "created": statistics.median(created),
        "files": sizes[-1],
    }


def print_author(a: dict[str, float]) -> None:
    print(
        f"  an author's key, state of {a['files']:.0f} files: first call in a process {a['first']:.1f} ms; "
        f"next call {a['again']:.1f} ms; after one file edited {a['edited']:.1f} ms, after one created "
        f"{a['created']:.1f} ms (target <= {LOOKUP_TARGET_MS} ms)"
    )


# The shared store lies in the bench's temporary folder, under /tmp: agents' programs may write /tmp by default
# (sandbox_writable), and devloop never reads a store they could write. The bench's agents run no program.
STORE_YAML = "sandbox_writable: ['~']\ncache:\n  stores:\n    - {{url: '{url}', push: true}}\n"


def committed_workspace(dl: Path, features: list[str], yaml: str) -> None:
    S.make_devloop_workspace(dl, features)
    with (dl / "devloop.yaml").open("a", encoding="utf-8") as fh:
        fh.write(yaml)
    (dl / ".gitignore").write_text(".devloop/\n__pycache__/\n.doit.json*\n", encoding="utf-8")
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "bench"],
        ["config", "user.email", "bench@example.invalid"],
        ["add", "-A"],
        ["commit", "-q", "-m", "briefs"],
    ):
        S.run(["git", *args], dl)


def first_build(dl: Path, n: int) -> float:
    t0 = time.perf_counter()
    done = S.run([*S.DOIT], dl, check=False, timeout=7200)
    took = time.perf_counter() - t0
    if S._failed(done):
        raise S.BenchError(f"first build of {n} features failed\n{S._tail(done.stdout)}\n{S._tail(done.stderr)}")
    return took


def restore(tmp: Path, n: int, repeat: int) -> dict[str, float]:
    features = S.feature_names(n)
    base = tmp / f"n{n}"
    dl = base / "devloop"
    off = base / "nocache"
    committed_workspace(dl, features, STORE_YAML.format(url=tmp / f"shared-{n}"))
    committed_workspace(off, features, "cache: {read: false, write: false}\n")
    first = first_build(dl, n)
    without = first_build(off, n)  # what the cache adds to a build where nothing hits
    time.sleep(2.5)  # the verdict memo trusts no file younger than 2 s
    S.run([*S.DOIT], dl)  # the memo is written by the first no-op
    noop = S.time_commands({"noop": ([*S.DOIT], dl)}, repeat)["noop"]
    restores = []
    for k in range(repeat):
        clone = base / f"clone{k}"
        S.run(["git", "clone", "-q", str(dl), str(clone)], base)
        t0 = time.perf_counter()
        done = S.run([*S.DOIT], clone, check=False, timeout=7200)
        restores.append(time.perf_counter() - t0)
        if S._failed(done):
            raise S.BenchError(f"the restore run of {n} features failed\n{S._tail(done.stdout)}")
        ledger = [json.loads(line) for line in (clone / "runs/ledger.jsonl").read_text().splitlines() if line]
        asked = [e for e in ledger if e.get("status") != "restored"]
        if asked:
            raise S.BenchError(f"the clone's run asked {len(asked)} agents: {asked[0]}")
        if k == 0:
            restored = len(ledger)
        shutil.rmtree(clone)
    return {
        "first build": first,
        "first build, cache off": without,
        "no-op": statistics.median(noop),
        "restore": statistics.median(restores),
        "restore min": min(restores),
        "restore max": max(restores),
        "answers": restored,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", default="10,100", help="comma-separated sizes (default 10,100)")
    ap.add_argument("--entries", type=int, default=5000, help="answers in the lookup store (default 5000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each command (default 3)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and print where")
    ap.add_argument("--author-in", nargs="*", default=[], help="only time an author's key in these workspaces")
    args = ap.parse_args(argv)
    if args.author_in:
        for where in args.author_in:
            print(where)
            print_author(author_state_ms(Path(where).resolve(), args.repeat))
        return 0
    with S.workdir("devloop-bench-cache-", args.keep) as tmp:
        return _sizes(args, tmp)


def _sizes(args: argparse.Namespace, tmp: Path) -> int:
    try:
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        lk = lookups(tmp, args.entries)
        print(f"lookup on a local store of {args.entries} answers (median of 2000 calls):")
        for what, ms in lk.items():
            print(f"  {what:<10} {ms:7.3f} ms")
        worst = lk["judge key"] + max(lk["hit"], lk["miss"])
        verdict = "met" if worst <= LOOKUP_TARGET_MS else "NOT met"
        print(f"  a judge call's key + lookup: {worst:.3f} ms (target <= {LOOKUP_TARGET_MS} ms: {verdict})")
        for n in [int(x) for x in args.features.split(",") if x]:
            r = restore(tmp, n, args.repeat)
            author = author_state_ms(tmp / f"n{n}" / "devloop")
            ratio = r["restore"] / r["no-op"]
            print(f"{n} features ({r['answers']} answers restored per clone):")
            print(f"  first build (agents asked)  {r['first build']:8.2f} s")
            print(
                f"  same, cache off             {r['first build, cache off']:8.2f} s "
                f"(the cache adds {r['first build'] / r['first build, cache off']:.2f}x when nothing hits)"
            )
            print(f"  no-op doit                  {r['no-op']:8.3f} s")
            print(
                f"  fresh clone, all restored   {r['restore']:8.2f} s ({r['restore min']:.2f}-{r['restore max']:.2f}); "
                f"{r['restore'] / r['first build']:.2f}x the first build"
            )
            print(
                f"  restore / no-op             {ratio:8.2f}x (target <= {RESTORE_TARGET}x: "
                f"{'met' if ratio <= RESTORE_TARGET else 'NOT met'})"
            )
            print_author(author)
    except S.BenchError as exc:
        print(f"bench/cache.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
