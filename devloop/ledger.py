"""``runs/ledger.jsonl``: one line per agent call, appended, never rewritten."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from devloop.provenance.lockfile import now_iso

LEDGER = "runs/ledger.jsonl"


def append(root: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line with O_APPEND so concurrent writers never interleave a line."""
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
    path = root / LEDGER
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
