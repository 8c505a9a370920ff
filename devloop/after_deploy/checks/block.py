"""Locate ```yaml devloop blocks in validation.md and word validation errors against it.

Errors point into validation.md itself (the block's line, the field path and
the check's name) because that is the file a person edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devloop.judging.answers import fenced_blocks

if TYPE_CHECKING:
    from pydantic import ValidationError

INFO = "yaml devloop"


@dataclass
class Found:
    line: int  # 1-based line of the opening fence
    body: str


def find_blocks(text: str) -> list[Found]:
    """Every fenced block whose info string is ``yaml devloop``, with its line number.

    ``devloop.judging.answers.fenced_blocks`` decides what a block is, and where it opens (in one pass).
    """
    blocks, _ = fenced_blocks(text)
    return [Found(b.line, b.body) for b in blocks if " ".join(b.info.split()) == INFO]


def unclosed_line(text: str) -> int | None:
    """The line of a ```yaml devloop fence that never closes (a truncated file), else None."""
    _, closed = fenced_blocks(text)
    if closed:
        return None
    opened = {f.line for f in find_blocks(text)}
    for i, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")) and " ".join(stripped.lstrip("`~").split()) == INFO:
            if i not in opened:
                return i
    return None


def format_errors(where: str, err: ValidationError, data: dict[str, Any]) -> str:
    """One line per problem: ``where: smoke.0.bigquery.params (check_name): message``."""
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        path = ".".join(loc) or "(top level)"
        name = _probe_name(data, e["loc"])
        if name:
            path += f" ({name[:64]})"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {path[:200]}: {_short(msg)}")
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"{where}: ... and {len(lines) - MAX_LINES} more problems"]
    return "\n".join(lines)


MAX_LINES = 20


def _short(msg: str, limit: int = 300) -> str:
    """A message quotes a value, never dumps it: an agent wrote this block."""
    return msg if len(msg) <= limit else msg[:limit] + "..."


def _probe_name(data: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    if len(loc) < 2 or loc[0] not in ("smoke", "rollback_triggers") or not isinstance(loc[1], int):
        return None
    items = data.get(loc[0])
    if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
        name = items[loc[1]].get("name")
        return str(name) if name is not None else None
    return None
