"""From validation.md's text to its check block: find the ```yaml devloop block, load it, validate it.

A valid block whose checks are all ``command:`` is validated by
:mod:`devloop.after_deploy.checks.light`, which imports no pydantic; every other block,
and every invalid one, by the pydantic models of :mod:`devloop.after_deploy.checks.model`,
which word the errors. Given a ``cache`` file, what the YAML loaded to is
kept there as JSON, keyed by the hash of the block (and of the YAML
loader's source), so an unchanged block is not parsed again and needs no
PyYAML; the block stays the truth, and anything JSON would not give back
exactly (dates, binary, non-string keys, inf/nan) is never cached.
"""

from __future__ import annotations

import hashlib
import json
import math
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devloop.after_deploy.checks.block import INFO, find_blocks, unclosed_line
from devloop.provenance.hashing import package_stamp
from devloop.runtime.atomic import atomic_write_text
from devloop.runtime.errors import ConfigError

if TYPE_CHECKING:
    from devloop.after_deploy.checks import light, model


def parse_check_block(
    validation_text: str, source: str = "validation.md", cache: Path | None = None
) -> model.CheckBlock | light.CheckBlock | None:
    """The parsed block, None when validation.md has none; ConfigError when it is not valid."""
    found = find_blocks(validation_text)
    if (line := unclosed_line(validation_text)) is not None:
        raise ConfigError(f"{source}: the ```{INFO} block at line {line} is never closed")
    if not found:
        return None
    if len(found) > 1:
        lines = ", ".join(str(f.line) for f in found)
        raise ConfigError(f"{source}: found {len(found)} ```{INFO} blocks (lines {lines}); keep exactly one")
    block = found[0]
    where = f"{source} (block at line {block.line})"
    data: Any = _load(block.body, cache, source, block.line) if block.body.strip() else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the block must be a mapping (smoke:, rollback_triggers:, ...)")
    from devloop.after_deploy.checks.light import light_block  # lazy: loads jinja2

    fast = light_block(data)
    if fast is not None:
        return fast
    from devloop.after_deploy.checks.model import validate_block  # lazy: loads jinja2, pydantic

    return validate_block(data, where)


def _load(body: str, cache: Path | None, source: str, line: int) -> Any:
    """The YAML ``body`` (opened at ``line``) loaded with devloop's limits, from ``cache`` when it holds this body."""
    if cache is None:
        return _yaml(body, source, line)
    sha = hashlib.sha256(f"{_loader_stamp()}\0{body}".encode("utf-8", "surrogatepass")).hexdigest()
    with suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
        cached = json.loads(cache.read_bytes())
        if cached.get("sha") == sha:
            return cached["data"]
    data = _yaml(body, source, line)
    if _plain(data):
        with suppress(OSError):  # the cache is an optimisation; validation.md stays the truth
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(cache, json.dumps({"sha": sha, "data": data}), fsync=False)
    return data


def _yaml(body: str, source: str, line: int) -> Any:
    from devloop.runtime.safeyaml import YamlLimit  # lazy: loads yaml
    from devloop.runtime.safeyaml import load as load_yaml  # lazy: loads yaml

    try:
        return load_yaml(body, first_line=line + 1)
    except YamlLimit as exc:
        at = f" line {exc.line}" if exc.line else ""
        raise ConfigError(f"{source}{at} (block at line {line}): {exc.message}") from None


def _loader_stamp() -> str:
    """devloop's code as installed (its YAML loader and check model among it): another loader never reads this cache."""

    return package_stamp()[0]


def _plain(value: Any, depth: int = 0) -> bool:
    """True when JSON gives ``value`` back exactly: str-keyed dicts, lists, str, int, finite float, bool, None."""
    if depth > 100:
        return False
    if value is None or type(value) in (str, int, bool):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    return False
