"""Read and validate devloop.yaml; the only place that parses it."""

from __future__ import annotations

from pathlib import Path

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
            line = line if len(line) <= 300 else line[:300] + "..."  # a value is quoted, never dumped
            lines.append(f"{source}: {loc}: {line}" if loc else f"{source}: {line}")
    if len(lines) > 20:
        lines = [*lines[:20], f"{source}: ... and {len(lines) - 20} more problems"]
    return "\n".join(lines)


def parse_config(text: str, source: str = CONFIG_FILE) -> Config:
    from devloop.safeyaml import YamlLimit, load

    try:
        data = load(text) if text.strip() else {}
    except YamlLimit as exc:
        where = f"{source}: line {exc.line}" if exc.line else source
        raise ConfigError(f"{where}: {exc.message}") from None
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
