"""Each feature's proof (:mod:`devloop.provenance.proof`): written after a run, read by the fast path.

A run that ran a step of a feature ends by judging all of the feature's
steps once more; when every one is up to date, the lock gets its proof line.
A fresh clone's ``doit`` (or any run whose verdict memo lacks the feature)
then checks that line, about fifteen files against git's index, instead of
judging seven steps from the lock.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from devloop.config.workspace import Workspace
from devloop.loop.engine import resting_on, step_status
from devloop.provenance import LOCK_NAME, gitclean, proof
from devloop.provenance.hashing import hash_bytes, hash_file, quiet
from devloop.provenance.lockfile import HEADER, append_proof, parse_lock
from devloop.runtime.errors import DevloopError
from devloop.steps.order import ORDER

JUDGED = [s for s in ORDER if s != "smoke"]  # the steps a plain doit builds (smoke runs only when asked)


def prove_all(root: Path, features: set[str] | None, snapshots: bool = True) -> tuple[int, int]:
    """Give each of ``features`` whose steps are all up to date its proof: (locks that have one now, features).

    Never fails the run: a feature that cannot be proven is judged step by
    step by the next run, as before. A run that ran steps holds the
    workspace lock already; ``None`` (every feature, asked for by a run that
    may have run none) takes it, and raises WorkspaceBusy if another run has it.
    Each feature proven also leaves its snapshot in the answer cache, unless
    ``snapshots`` is False.
    """
    ws = Workspace(root)
    done = 0
    if features is None:
        from devloop.runtime import wslock  # lazy: only a run asked to prove every feature takes it here

        wslock.acquire(ws.ensure_state_dir())
        features = set(ws.features())
    try:
        stamp = proof.stamp(root, again=True)
        ws.config_view  # noqa: B018 - read after the stamp: judged with the devloop.yaml the stamp holds
    except (OSError, DevloopError):
        return 0, len(features)
    for feature in sorted(features):
        try:
            proven = prove(ws, feature, stamp)
        except (OSError, DevloopError):
            continue
        except Exception as exc:  # a fault here must not fail a run whose steps all ended
            print(f"devloop: no proof written for {feature} ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        done += proven
        if proven and snapshots:
            _snapshot(ws, feature)
    return done, len(features)


def _snapshot(ws: Workspace, feature: str) -> None:
    """Keep the proven feature's snapshot (:mod:`devloop.loop.snapshots`); never fails the run."""
    from devloop.loop import snapshots  # lazy: only a run that proved a feature keeps one

    try:
        snapshots.keep(ws, feature)
    except (OSError, DevloopError):
        pass  # a store that cannot take it: the answers of the calls are kept one by one anyway
    except Exception as exc:  # a fault here must not fail a run whose steps all ended
        print(f"devloop: no snapshot kept of {feature} ({type(exc).__name__}: {exc})", file=sys.stderr)


def prove(ws: Workspace, feature: str, stamp: str) -> bool:
    """Append the proof to ``feature``'s lock when every step it builds is up to date now.

    ``stamp`` is :func:`devloop.provenance.proof.stamp` taken before ``ws``
    read its config; it must still be the stamp after the steps are judged.
    """
    path = ws.lock_path(feature)
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    body, _ = proof.split(raw)
    if not body.startswith((HEADER.encode(), b"{")):
        return False  # a lock in an older form: the next write of it gives the JSON form
    lock = parse_lock(body, feature)
    if lock is None:
        return False
    root = f"{ws.root}/"
    with quiet():  # each file stat'ed and hashed once: the answers and the ids below see the same bytes
        deps = _deps(ws, feature, lock)
        if deps is None:
            return False
        before = {d: _lkey(root + d) for d in deps}
        answers: proof.Answers = {}
        for name in JUDGED:
            st = step_status(ws, feature, name, lock)
            if not st.fresh:
                return False
            answers[name] = [st.state, list(st.reasons)]
        files: dict[str, str] = {}
        for d in deps:
            found = _id(root + d)
            if found is None:
                return False
            files[d] = found
        if _deps(ws, feature, lock) != deps or {d: _lkey(root + d) for d in deps} != before:
            return False  # something moved while it was judged: no proof this time
    if proof.stamp(ws.root, again=True) != stamp:
        return False  # devloop.yaml or a template changed meanwhile
    return append_proof(path, body, proof.line(body, stamp, files, answers))


def _deps(ws: Workspace, feature: str, lock: object) -> list[str] | None:
    """What the answers rest on (the verdict memo's list), below the workspace, the lock itself left out."""
    out: set[str] = set()
    for name in JUDGED:
        more = resting_on(ws, feature, name, lock)  # type: ignore[arg-type]
        if more is None:
            return None
        out.update(more)
    out.discard(f"plans/{feature}/{LOCK_NAME}")
    return sorted(p for p in out if not os.path.isabs(p))


def _lkey(path: str) -> tuple[int, int, int, int, int] | None:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _id(full: str) -> str | None:
    """What the proof records of a file: its blob id (of the bytes just judged), ``""``, or a folder's names."""
    try:
        st = os.lstat(full)
    except (FileNotFoundError, NotADirectoryError):
        return ""
    if stat.S_ISDIR(st.st_mode):
        return proof.folder_id(full)
    if not stat.S_ISREG(st.st_mode):
        return None  # a link or a device: judged step by step
    sha = hash_file(full)  # inside quiet(): the hash the judge took
    blob = gitclean.BLOBS.get(sha)
    if blob is not None:
        return blob
    with open(full, "rb") as fh:
        data = fh.read()
    return gitclean.blob_id(data) if hash_bytes(data) == sha else None
