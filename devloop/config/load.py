"""Read and validate devloop.yaml; the only place that parses it."""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from devloop.config.models import Config
from devloop.runtime.errors import ConfigError

CONFIG_FILE = "devloop.yaml"


KIND_TAGS = ("command", "openai", "manual", "replay")


def _format_loc(loc: tuple[object, ...]) -> str:
    """Dotted path as written in the YAML: pydantic's union tag after ``agents.<name>`` is dropped."""
    return ".".join(str(p) for p in _yaml_loc(loc))


def _yaml_loc(loc: tuple[object, ...]) -> list[object]:
    parts = list(loc)
    if len(parts) > 2 and parts[0] == "agents" and parts[2] in KIND_TAGS:
        del parts[2]
    return parts


def _model_at(loc: tuple[object, ...]) -> type[BaseModel] | None:
    """The settings class whose fields may stand at ``loc`` (pydantic's loc, union tag included), if any."""
    kind: Any = Config
    parts = list(loc)
    while True:
        bare = _unwrap(kind, parts[0] if parts else None)
        if bare is not kind and parts and _tagged(bare) == parts[0]:
            parts.pop(0)  # pydantic's union tag (the agent's kind), not a key of the YAML
        kind = bare
        if not parts:
            return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None
        part = parts.pop(0)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            if field is None:
                return None
            kind = field.annotation
            continue
        origin = typing.get_origin(kind)
        if origin in (dict, list):
            kind = typing.get_args(kind)[-1]  # a key or an index: the value's kind
            continue
        return None


def _tagged(kind: Any) -> object:
    """The ``kind`` a settings class is chosen by in a union (an agent's), else None."""
    field = kind.model_fields.get("kind") if isinstance(kind, type) and issubclass(kind, BaseModel) else None
    args = typing.get_args(field.annotation) if field is not None else ()
    return args[0] if len(args) == 1 else None


def _unwrap(kind: Any, tag: object) -> Any:
    """Strip Annotated and Optional; of a union of settings classes, the one whose ``kind`` is ``tag``."""
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [m for m in typing.get_args(kind) if m is not type(None)]
            if len(members) == 1:
                kind = members[0]
                continue
            for m in members:
                if tag is not None and _tagged(m) == tag:
                    return m
            return kind
        else:
            return kind


def _suggest(word: str, choices: list[str]) -> str:
    """'; did you mean X?' for the closest choice, or the valid choices when none is close."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}?"
    return "valid: " + ", ".join(choices) if len(choices) <= 20 else ""


def _message(e: Any) -> str:
    """pydantic's words, replaced where devloop can say more: an unknown key or kind, with the closest valid one."""
    msg = str(e["msg"]).removeprefix("Value error, ")
    kind, loc, ctx = e.get("type"), e["loc"], e.get("ctx") or {}
    if kind == "extra_forbidden" and loc:
        model = _model_at(loc[:-1])
        if model is not None:
            hint = _suggest(str(loc[-1]), list(model.model_fields))
            return "not a setting" + (f"; {hint}" if hint else "")
    if kind == "union_tag_invalid" and "tag" in ctx:
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        hint = _suggest(str(ctx["tag"]), tags)
        return f"{ctx['tag']!r} is not a kind of agent" + (f"; {hint}" if hint else "")
    if kind == "literal_error" and isinstance(e.get("input"), str):
        words = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(e["input"], words, n=1, cutoff=0.6)
        if close:
            return f"{msg}; did you mean {close[0]}?"
    return msg


def _line_of(text: str, loc: list[object]) -> int | None:
    """The line of devloop.yaml that ``loc`` (as written in the YAML) points at: the deepest key that exists."""
    import yaml

    from devloop.runtime.safeyaml import _Limited  # lazy: loads yaml

    try:
        loader = _Limited(text, 1)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except Exception:  # the text was read once already; a line number is a courtesy
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and str(key.value) == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def format_validation_error(source: str, err: ValidationError, text: str | None = None) -> str:
    """One line per problem: the file, the line when known, the field, and what is wrong (or meant)."""
    lines = []
    for e in err.errors():
        msg, path = _message(e), tuple(e["loc"])
        if e.get("type") == "union_tag_invalid" and path:
            path += (str((e.get("ctx") or {}).get("discriminator", "kind")).strip("'"),)  # the key that is wrong
        loc = _format_loc(path) if path else ""
        at = _line_of(text, _yaml_loc(path)) if text is not None and path else None
        where = f"{source}: line {at}" if at else source
        for line in msg.splitlines() or [""]:  # one line per problem, each naming its field
            line = line if len(line) <= 300 else line[:300] + "..."  # a value is quoted, never dumped
            lines.append(f"{where}: {loc}: {line}" if loc else f"{where}: {line}")
    if len(lines) > 20:
        lines = [*lines[:20], f"{source}: ... and {len(lines) - 20} more problems"]
    return "\n".join(lines)


def parse_config(text: str, source: str = CONFIG_FILE) -> Config:
    from devloop.runtime.safeyaml import YamlLimit, load  # lazy: loads yaml

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
        raise ConfigError(format_validation_error(source, exc, text)) from None


def load_config(root: Path) -> Config:
    """Load ``root/devloop.yaml``; a missing file means all defaults (manual agents)."""
    path = root / CONFIG_FILE
    if not path.exists():
        return Config()
    return parse_config(path.read_text(encoding="utf-8"), str(path))
