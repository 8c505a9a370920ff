"""Looking after stores: copying entries between them, checking every blob, trimming the local one.

Each function walks a store once and reports as it goes (``tick`` is
called once per entry or blob handled), so a command can show progress on
a bucket of thousands of answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from devloop.provenance.cache.entries import BadEntry, Entry, parse
from devloop.provenance.cache.stores import HostileBlob, Store

Tick = Callable[[], None]


def _nothing() -> None:
    pass


@dataclass
class Copied:
    copied: int = 0  # entries written to the destination
    present: int = 0  # entries it already had
    refused: list[str] = field(default_factory=list)  # "key: why", entries not copied because they are not sound


def fetch(store: Store, key: str) -> tuple[Entry, dict[str, bytes], bytes] | None:
    """The entry under ``key`` with every blob it needs, each verified; None when there is none.

    :class:`BadEntry` when the entry is not sound or a blob is missing,
    :class:`HostileBlob` when a blob's bytes are not its name's.
    """
    data = store.read_entry(key)
    if data is None:
        return None
    entry = parse(data, key)
    blobs = {}
    for sha in entry.blobs():
        blob = store.read_blob(sha)
        if blob is None:
            raise BadEntry(f"its blob {sha[:12]} is missing")
        blobs[sha] = blob
    return entry, blobs, data


def put(store: Store, key: str, data: bytes, blobs: dict[str, bytes]) -> bool:
    """Write an entry's blobs, then the entry (create-only); False when the store already had the entry."""
    for sha, blob in blobs.items():
        if not store.has_blob(sha):
            store.write_blob(sha, blob)
    return store.write_entry(key, data)


def copy(src: Store, dst: Store, tick: Tick = _nothing) -> Copied:
    """Every sound entry of ``src`` (with its blobs, each verified) that ``dst`` lacks, written to ``dst``."""
    out = Copied()
    for item in src.entries():
        tick()
        key = item.name
        if dst.read_entry(key) is not None:
            out.present += 1
            continue
        try:
            got = fetch(src, key)
        except (BadEntry, HostileBlob) as exc:
            out.refused.append(f"{key[:12]}: {exc}")
            continue
        if got is None:
            continue
        _, blobs, data = got
        if put(dst, key, data, blobs):
            out.copied += 1
        else:
            out.present += 1
    return out


@dataclass
class Checked:
    entries: int = 0
    blobs: int = 0
    bad: list[str] = field(default_factory=list)  # what is wrong, one line each, naming the entry or blob


def verify(store: Store, tick: Tick = _nothing, delete: bool = False) -> Checked:
    """Read every entry (checked field by field, its blobs present) and every blob (checked against its name).

    ``delete`` removes what is bad, so the store answers only what it can back.
    """
    out = Checked()
    present: set[str] = set()
    for item in store.blobs():
        tick()
        out.blobs += 1
        try:
            if store.read_blob(item.name) is not None:
                present.add(item.name)
        except HostileBlob as exc:
            out.bad.append(f"blob {item.name}: {exc}")
            if delete:
                store.delete_blob(item.name)
    for item in store.entries():
        tick()
        out.entries += 1
        data = store.read_entry(item.name)
        if data is None:
            continue
        try:
            entry = parse(data, item.name)
            if missing := [s for s in entry.blobs() if s not in present]:
                raise BadEntry(f"{len(missing)} of its blobs are missing or bad ({missing[0][:12]}...)")
        except BadEntry as exc:
            out.bad.append(f"entry {item.name}: {exc}")
            if delete:
                store.delete_entry(item.name)
    return out


@dataclass
class Trimmed:
    entries: int = 0  # entries removed
    blobs: int = 0  # blobs removed (no entry kept needs them)
    freed: int = 0  # bytes
    size: int = 0  # bytes left


def gc(store: Store, max_bytes: int, tick: Tick = _nothing) -> Trimmed:
    """Trim ``store`` to ``max_bytes``: least recently used entries first, then every blob no entry kept needs.

    Entries that do not parse are removed first: they would never be restored.
    """
    out = Trimmed()
    blob_sizes = {}
    for item in store.blobs():
        tick()
        blob_sizes[item.name] = item.size
    kept: list[tuple[float, str, int, list[str]]] = []
    for item in store.entries():
        tick()
        data = store.read_entry(item.name)
        try:
            needs = parse(data, item.name).blobs() if data is not None else None
        except BadEntry:
            needs = None
        if needs is None:
            store.delete_entry(item.name)
            out.entries += 1
            out.freed += item.size
            continue
        kept.append((item.mtime or 0.0, item.name, item.size, needs))
    kept.sort(reverse=True)  # most recent use first: the ones popped from the end are the oldest
    users: dict[str, int] = {}
    for *_, needs in kept:
        for sha in needs:
            users[sha] = users.get(sha, 0) + 1
    size = sum(e[2] for e in kept) + sum(blob_sizes.get(s, 0) for s in users)
    while kept and size > max_bytes:
        _, key, esize, needs = kept.pop()
        store.delete_entry(key)
        out.entries += 1
        out.freed += esize
        size -= esize
        for sha in needs:
            users[sha] -= 1
            if not users[sha]:
                size -= blob_sizes.get(sha, 0)
    for sha, bsize in blob_sizes.items():
        if not users.get(sha):
            store.delete_blob(sha)
            out.blobs += 1
            out.freed += bsize
    out.size = size
    return out
