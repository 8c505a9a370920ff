"""``runs/ledger.jsonl``: one line per agent call, appended, never rewritten."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from devloop.provenance.lockfile import now_iso
from devloop.runtime.atomic import append_bytes
from devloop.runtime.redact import redact, secret_values

LEDGER = "runs/ledger.jsonl"


def append(root: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line with O_APPEND so concurrent writers never interleave a line."""
    append_all(root, [entry])


def restored(
    call: dict[str, Any], original: dict[str, Any], key: str, store: str, writer: str | None, detail: str
) -> dict[str, Any]:
    """The ledger line of an answer restored from the answer cache: what the original call cost is what it saved.

    ``call``: its feature, step, role, call, agent and model; ``original``: the original call's
    ``duration_s``, ``cost_usd`` and ``time``, as the cache entry kept them.
    """
    return {
        **call,
        "status": "restored",
        "duration_s": 0.0,
        "saved_s": original.get("duration_s"),
        "saved_usd": original.get("cost_usd"),
        "tokens_in": None,
        "tokens_out": None,
        "cost_usd": 0.0,
        "key": key[:12],
        "store": store,
        "answered": original.get("time"),
        "writer": writer,
        "detail": detail,
    }


def append_all(root: Path, entries: list[dict[str, Any]]) -> None:
    """Append one line per entry in a single O_APPEND write (a feature restored whole says all its calls)."""
    secrets = secret_values()
    now = now_iso()
    lines = []
    for entry in entries:
        clean = {k: redact(v, secrets) if isinstance(v, str) else v for k, v in entry.items()}
        lines.append(json.dumps({"time": now, **clean}, sort_keys=True) + "\n")
    if lines:
        append_bytes(root / LEDGER, "".join(lines).encode("utf-8"))


def read(root: Path) -> list[dict[str, Any]]:
    """Every entry, in order (a line that is not JSON, such as one cut short by a kill, is skipped)."""
    index = _index(root)
    return [e for line in index.lines if (e := _parse(line)) is not None]


def of_feature(root: Path, feature: str) -> list[dict[str, Any]]:
    """The feature's entries, in order: only its own lines are parsed, and only once per process."""
    index = _index(root)
    raw = index.by_feature.get(feature, [])
    parsed = index.parsed.setdefault(feature, [])
    for line in raw[index.done.get(feature, 0) :]:
        entry = _parse(line)
        if entry is not None and str(entry.get("feature")) == feature:
            parsed.append(entry)
    index.done[feature] = len(raw)
    return list(parsed)


_KEY = b'"feature": "'  # how append() writes it (sorted keys, default separators)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


class _Index:
    """What this process has read of one ledger, by feature; a later read looks only at lines appended since.

    Lines are sorted by the feature named in their text and parsed when that
    feature is asked about: a thousand features' ledger is not decoded to
    answer for one. A line written otherwise is parsed to find its feature.
    """

    def __init__(self) -> None:
        self.inode: int | None = None
        self.offset = 0
        self.lines: list[bytes] = []
        self.by_feature: dict[str, list[bytes]] = {}
        self.parsed: dict[str, list[dict[str, Any]]] = {}
        self.done: dict[str, int] = {}  # per feature: how many of its lines are in ``parsed``

    def refresh(self, path: Path) -> None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self.__init__()  # type: ignore[misc]
            return
        if st.st_ino != self.inode or st.st_size < self.offset:  # replaced or cut: read it all again
            self.__init__()  # type: ignore[misc]
            self.inode = st.st_ino
        if st.st_size == self.offset:
            return
        with open(path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(st.st_size - self.offset)
        end = data.rfind(b"\n") + 1  # a line still being appended waits for the next read
        self.offset += end
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            self.lines.append(line)
            at = line.find(_KEY)  # inside a JSON string its quotes would be escaped: only a key matches
            close = line.find(b'"', at + len(_KEY)) if at >= 0 else -1
            if close > 0 and b"\\" not in line[at:close] and line.count(_KEY) == 1:
                feature = line[at + len(_KEY) : close].decode("utf-8", "replace")
            else:
                entry = _parse(line)
                feature = str(entry.get("feature")) if entry is not None else ""
            self.by_feature.setdefault(feature, []).append(line)


_indexes: dict[Path, _Index] = {}
_guard = threading.Lock()  # reviewers' threads ask at the same time


def _index(root: Path) -> _Index:
    path = Path(root) / LEDGER
    with _guard:
        index = _indexes.get(path)
        if index is None:
            index = _indexes[path] = _Index()
        index.refresh(path)
        return index
