"""Golden files: text compared whole against tests/golden/<name>, after volatile parts are masked.

Regenerate with ``DEVLOOP_UPDATE_GOLDEN=1`` after a deliberate change, and
read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"

MASKS = [
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"), "<time>"),
    (re.compile(r"\b\d{8}-\d{6}\b"), "<stamp>"),
    (re.compile(r"\b\d+\.\d+ ?s\b"), "<s>"),
    (re.compile(r"\b[0-9a-f]{12,64}\b"), "<hash>"),
    (re.compile(r"(?<=\| )\d+\.\d+(?= \|)"), "<n>"),
]


def masked(text: str, *extra: tuple[str, str]) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    for old, new in extra:
        text = text.replace(old, new)
    return text


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DEVLOOP_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from tests/golden/{name} (DEVLOOP_UPDATE_GOLDEN=1 rewrites it)"
