"""Whole features put back from the answer cache at once: a feature's snapshot.

Restoring answers one call at a time runs every step through the engine
(judging it, rendering its prompts, writing its lock), which costs about
what the first build cost with instant agents. When a feature has been
proven (:mod:`devloop.loop.proofs`), everything its seven answers rest on
is known, so the run that wrote the proof also keeps a snapshot: the lock
with its proof and every file the feature's steps wrote, under a key made
of the feature's name, the proof's stamp (this devloop, the templates,
devloop.yaml) and its brief.

A plain ``doit`` that finds a feature with no lock looks that key up. A
snapshot is put back only when none of its files is there with other
bytes, every path is one the feature's steps may write (its own folder,
or outside the loop's folders and devloop's own files), no folder on the
way is a link, and, once written, the lock's proof holds: every input
as recorded, the same stamp. Otherwise what was written is removed and
the feature is judged and restored step by step as before. The lock is
the one the original run wrote, byte for byte, gates and all, so
snapshots are read only from the local store and from shared stores
marked ``snapshots: true``: whoever can write those can write your locks.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from devloop.config.workspace import Workspace
from devloop.loop.targets import artifacts
from devloop.provenance import LOCK_NAME, gitclean, ledger, proof
from devloop.provenance.cache import entries, keys, upkeep
from devloop.provenance.cache.entries import BadEntry, Entry
from devloop.provenance.cache.stores import HostileBlob, StoreUnreachable
from devloop.provenance.hashing import hash_bytes, hash_json
from devloop.provenance.hashing import key_of as key_of_stat
from devloop.provenance.lockfile import parse_lock
from devloop.runtime import journal
from devloop.runtime.atomic import atomic_write_bytes, remove
from devloop.steps import answer_cache, change
from devloop.steps.order import ORDER

KIND = "feature"
_OWN_FILES = {"devloop.yaml", "dodo.py"}  # devloop's own files at the top: never a feature's output
_OWN_TOPS = {"templates", ".devloop", ".git"}


def key_of(feature: str, stamp: str, brief: str) -> str:
    """The key of ``feature``'s snapshot: its name, the proof's stamp and its brief's blob id."""
    return hash_json({"cache": keys.CONTRACT, "kind": KIND, "feature": feature, "stamp": stamp, "brief": brief})


def may_write(feature: str, rel: str) -> bool:
    """A path a snapshot of ``feature`` may put back: its own folder, or a file outside the loop and devloop."""
    if not entries.safe_path(rel) or "/.history/" in f"/{rel}":
        return False
    if rel.startswith(f"plans/{feature}/"):
        return True
    return not change.is_loop_file(rel) and rel not in _OWN_FILES and rel.split("/", 1)[0] not in _OWN_TOPS


def keep(ws: Workspace, feature: str) -> bool:
    """Keep ``feature``'s snapshot in the local store and the stores that take pushes, right after its proof.

    Nothing is kept when the lock has no proof, a file changed since the proof
    was written or is not a plain file, or any of it holds a value devloop redacts.
    """
    cache = answer_cache.of(ws)
    writers = cache.writers()
    if not writers:
        return False
    root = f"{ws.root}/"
    lock_rel = f"plans/{feature}/{LOCK_NAME}"
    try:
        raw = (ws.root / lock_rel).read_bytes()
    except OSError:
        return False
    body, found = proof.split(raw)
    recorded = found.get("files") if found is not None else None
    brief = recorded.get(f"plans/{feature}/brief.md") if isinstance(recorded, dict) else None
    lock = parse_lock(body, feature)
    if found is None or lock is None or not isinstance(brief, str) or not brief:
        return False
    files: dict[str, str] = {lock_rel: hash_bytes(raw)}
    blobs: dict[str, bytes] = {files[lock_rel]: raw}
    executable: list[str] = []
    for rel in outputs(ws, feature, lock):
        try:
            st = os.lstat(root + rel)
        except OSError:
            continue  # a step's file that is gone: the proof says whether that matters
        if not stat.S_ISREG(st.st_mode) or not may_write(feature, rel):
            return False
        with open(root + rel, "rb") as fh:
            data = fh.read()
        if rel in recorded and recorded[rel] != gitclean.blob_id(data):
            return False  # changed since the proof was written
        files[rel] = sha = hash_bytes(data)
        blobs[sha] = data
        if st.st_mode & 0o100:
            executable.append(rel)
    if any(answer_cache.holds_secret(data) for data in blobs.values()):
        return False
    entry = Entry(
        key=key_of(feature, found["stamp"], brief),
        step=KIND,
        role=KIND,
        call=feature,
        kind=KIND,
        files=files,
        executable=sorted(executable),
        records=_records(ws, feature, lock),
        writer=entries.writer(),
    )
    cache.keep(entry, blobs)
    return True


def outputs(ws: Workspace, feature: str, lock: Any) -> list[str]:
    """Every file the feature's steps wrote, as its lock records them, and the targets doit expects."""
    out = set(lock.artifacts)
    for name in ORDER:
        out.update(lock.outputs(name))
    for paths in artifacts(ws, feature).values():  # doit's targets, from the lock on disk: this one
        out.update(paths)
    out.discard(f"plans/{feature}/{LOCK_NAME}")
    return sorted(p for p in out if not os.path.isabs(p) and "/.history/" not in f"/{p}")


def _records(ws: Workspace, feature: str, lock: Any) -> list[dict[str, Any]]:
    """The ledger lines of the calls behind each step's answers: those within its last run, by time."""
    out: list[dict[str, Any]] = []
    mine = ledger.of_feature(ws.root, feature)
    for name, rec in lock.steps.items():
        end = _when(rec.finished)
        if end is None:
            continue
        start = end - timedelta(seconds=float(rec.duration_s or 0) + 2)
        for e in mine:
            at = _when(e.get("time"))
            if e.get("step") != name or at is None or not start <= at <= end + timedelta(seconds=2):
                continue
            if e.get("status") == "answered":
                cost = {k: e.get(k) for k in ("duration_s", "cost_usd", "tokens_in", "tokens_out", "time")}
            elif e.get("status") == "restored":  # what the original call cost, as its restore said
                cost = {"duration_s": e.get("saved_s"), "cost_usd": e.get("saved_usd"), "time": e.get("answered")}
            else:
                continue
            rec_ = {"step": name, "role": e.get("role"), "call": e.get("call"), "agent": e.get("agent"),
                    "model": e.get("model"), **cost}  # fmt: skip
            out.append({k: v for k, v in rec_.items() if isinstance(v, (str, int, float)) or v is None})
    return out


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def restore(ws: Workspace, feature: str, known: dict[str, tuple[Any, str]] | None = None) -> int:
    """Put ``feature`` back from its snapshot when its lock is missing; the number of calls it restored (0: none).

    The caller holds the workspace lock, and no agent of this run has
    started: the writes need no journal note. ``known`` gets the stat key
    and blob id of each file written, so the proof checks that follow do
    not read them back. Never fails the run: anything unexpected leaves the
    feature to be judged step by step.
    """
    cache = answer_cache.of(ws)
    readers = cache.snapshot_readers()
    if not readers or os.path.lexists(ws.root / "plans" / feature / LOCK_NAME):
        return 0
    try:
        with open(ws.root / "plans" / feature / "brief.md", "rb") as fh:
            brief = gitclean.blob_id(fh.read())
    except OSError:
        return 0
    key = key_of(feature, proof.stamp(ws.root), brief)
    for store in readers:
        try:
            got = upkeep.fetch(store, key)
        except (StoreUnreachable, OSError) as exc:
            cache.say(store.url, f"devloop: answer store {store.url} is unreachable ({exc}); its answers are asked")
            continue
        except (BadEntry, HostileBlob) as exc:
            cache.say(f"refused {key}", f"devloop: refused the snapshot of {feature} from {store.url}: {exc}")
            continue
        if got is None:
            continue
        with journal.unnoted():
            why = _put_back(ws, feature, got[0], got[1], known if known is not None else {})
            if why is None:
                if store is not cache.local and cache.write:
                    cache._put([cache.local], got[0], got[1])
                _ledger(ws, feature, got[0], store.url)
                return max(1, len(got[0].records))
        cache.say(f"refused {key}", f"devloop: the snapshot of {feature} from {store.url} was not used: {why}")
    return 0


def _put_back(
    ws: Workspace, feature: str, entry: Entry, blobs: dict[str, bytes], known: dict[str, tuple[Any, str]]
) -> str | None:
    """Write the snapshot's files; None when its proof then holds, else why not (and nothing is left of it)."""
    root = f"{ws.root}/"
    lock_rel = f"plans/{feature}/{LOCK_NAME}"
    if entry.kind != KIND or entry.call != feature or lock_rel not in entry.files:
        return "it is not this feature's"
    todo: list[str] = []
    for rel, sha in sorted(entry.files.items()):
        if not may_write(feature, rel):
            return f"it writes {rel}"
        if not _real_folders(root, rel):
            return f"a folder on the way to {rel} is a link"
        try:
            st = os.lstat(root + rel)
        except FileNotFoundError:
            todo.append(rel)
            continue
        except OSError as exc:
            return f"{rel}: {exc}"
        if not stat.S_ISREG(st.st_mode):
            return f"{rel} is there and not a file"
        with open(root + rel, "rb") as fh:
            if hash_bytes(fh.read()) != sha:
                return f"{rel} is there with other content"
    written: list[str] = []
    try:
        for rel in sorted(todo, key=lambda r: r == lock_rel):  # the lock last: it says the rest is there
            mode = 0o755 if rel in entry.executable else 0o644
            data = blobs[entry.files[rel]]
            atomic_write_bytes(Path(root + rel), data, mode=mode, fsync=rel == lock_rel)
            written.append(rel)
            known[root + rel] = (key_of_stat(os.lstat(root + rel)), gitclean.blob_id(data))
        held = proof.Checker(ws.root, known=known).holds(blobs[entry.files[lock_rel]])
    except OSError as exc:
        held, why = None, f"writing failed ({exc})"
    else:
        why = "its proof does not hold here (an input differs)"
    if held is not None:
        return None
    for rel in written:
        known.pop(root + rel, None)
    for rel in reversed(written):  # only what this wrote, and only while it is still what it wrote
        try:
            with open(root + rel, "rb") as fh:
                same = hash_bytes(fh.read()) == entry.files[rel]
        except OSError:
            continue
        if same:
            remove(Path(root + rel))
    return why


def _real_folders(root: str, rel: str) -> bool:
    """No folder on the way to ``rel`` is a link or a file (a link could lead out of the workspace)."""
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        try:
            st = os.lstat(root + "/".join(parts[:i]))
        except FileNotFoundError:
            return True  # made by the write, as a real folder
        if not stat.S_ISDIR(st.st_mode):
            return False
    return True


def _ledger(ws: Workspace, feature: str, entry: Entry, url: str) -> None:
    """One ``restored`` line per call behind the snapshot: what it cost then is what this saved."""
    detail = f"restored from the answer cache ({url}) with its whole feature"
    lines = []
    for rec in entry.records or [{"step": KIND, "role": KIND, "call": feature}]:
        call = {"feature": feature, **{k: rec.get(k) for k in ("step", "role", "call", "agent", "model")}}
        lines.append(ledger.restored(call, rec, entry.key, url, entry.writer.get("user"), detail))
    ledger.append_all(ws.root, lines)
