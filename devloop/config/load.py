"""Read and validate devloop.yaml; the only place that parses it."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from devloop.config.models import Config
from devloop.errors import ConfigError

CONFIG_FILE = "devloop.yaml"


KIND_TAGS = ("command", "openai", "manual", "replay")


def _format_loc(loc: tuple[object, ...]) -> str:
    """Dotted path as written in the YAML: pydantic's union tag after ``agents.<name>`` is dropped."""
    parts = [str(p) for p in loc]
    if len(parts) > 2 and parts[0] == "agents" and parts[2] in KIND_TAGS:
        del parts[2]
    return ".".join(parts)


def format_validation_error(source: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        loc = _format_loc(e["loc"]) if e["loc"] else ""
        for line in msg.splitlines() or [""]:  # one line per problem, each naming its field
            lines.append(f"{source}: {loc}: {line}" if loc else f"{source}: {line}")
    return "\n".join(lines)


def parse_config(text: str, source: str = CONFIG_FILE) -> Config:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None


def load_config(root: Path) -> Config:
    """Load ``root/devloop.yaml``; a missing file means all defaults (manual agents)."""
    path = root / CONFIG_FILE
    if not path.exists():
        return Config()
    return parse_config(path.read_text(encoding="utf-8"), str(path))
