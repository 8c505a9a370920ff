"""``runs/ledger.jsonl``: one line per agent call, appended, never rewritten."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

LEDGER = "runs/ledger.jsonl"


def append(root: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line with O_APPEND so concurrent writers never interleave a line."""
    from devloop.provenance.lockfile import now_iso
    from devloop.redact import redact, secret_values

    secrets = secret_values()
    clean = {k: redact(v, secrets) if isinstance(v, str) else v for k, v in entry.items()}
    path = root / LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"time": now_iso(), **clean}, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read(root: Path) -> list[dict[str, Any]]:
    """Every entry, in order (a line that is not JSON, such as one cut short by a kill, is skipped)."""
    return list(_index(root).entries)


def of_feature(root: Path, feature: str) -> list[dict[str, Any]]:
    """The feature's entries, in order: without reading the whole ledger again for each question."""
    return list(_index(root).by_feature.get(feature, ()))


class _Index:
    """What this process has read of one ledger, by feature; a later read parses only the lines appended since."""

    def __init__(self) -> None:
        self.inode: int | None = None
        self.offset = 0
        self.entries: list[dict[str, Any]] = []
        self.by_feature: dict[str, list[dict[str, Any]]] = {}

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
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                self.entries.append(entry)
                self.by_feature.setdefault(str(entry.get("feature")), []).append(entry)


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
