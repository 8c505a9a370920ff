"""YAML with limits, for every document an agent (or a person) can write that devloop parses.

PyYAML's safe loader still expands aliases (a kilobyte "billion laughs"
grows to gigabytes), recurses once per nesting level (a RecursionError at a
few thousand) and turns a 5,000-digit number into a ValueError deep inside.
Here aliases are refused, depth and node count are capped while the
document is composed (before anything is built), integers are capped in
length, and every failure is one :class:`YamlLimit` whose message is short.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_DEPTH = 64
MAX_NODES = 20_000
MAX_CHARS = 2_000_000
MAX_INT_DIGITS = 40


class YamlLimit(ValueError):
    """The document is not YAML, or breaks a limit; ``line`` (in the file) and a short ``message`` say which."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message, self.line = message, line


class _Limited(yaml.SafeLoader):
    def __init__(self, stream: str, first_line: int) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self.first_line = first_line

    def line_of(self, mark: Any) -> int:
        return int(mark.line) + self.first_line

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlLimit(f"aliases (*{event.anchor}) are not accepted here", self.line_of(event.start_mark))
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlLimit(f"more than {MAX_NODES:,} values")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlLimit(f"nested deeper than {MAX_DEPTH} levels", self.line_of(mark))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_INT = re.compile(r"^[-+]?[0-9_]+$")


def _bounded_int(loader: _Limited, node: yaml.ScalarNode) -> int:
    text = str(node.value)
    if len(text.replace("_", "").lstrip("+-")) > MAX_INT_DIGITS:
        raise YamlLimit(f"a number of more than {MAX_INT_DIGITS} digits", loader.line_of(node.start_mark))
    return int(yaml.SafeLoader.construct_yaml_int(loader, node))


_Limited.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def load(text: str, first_line: int = 1) -> Any:
    """Parse one YAML document within the limits; YamlLimit otherwise (never a traceback).

    ``first_line`` is the file line the text starts at (a block inside
    markdown), so messages name lines of the file.
    """
    if len(text) > MAX_CHARS:
        raise YamlLimit(f"the document is {len(text):,} characters, over {MAX_CHARS:,}")
    try:
        loader = _Limited(text, first_line)  # reading starts here: a control character fails already
    except yaml.YAMLError as exc:
        first = (str(getattr(exc, "problem", None) or exc).strip().splitlines() or [""])[0]
        raise YamlLimit(f"not valid YAML: {first[:200]}") from None
    try:
        return loader.get_single_data()
    except YamlLimit:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = (str(getattr(exc, "problem", None) or exc).strip().splitlines() or [""])[0][:200]
        context, at = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and at is not None:
            problem += f" ({context} at line {loader.line_of(at)})"
        raise YamlLimit(f"not valid YAML: {problem}", loader.line_of(mark) if mark is not None else None) from None
    except (RecursionError, ValueError, OverflowError) as exc:
        raise YamlLimit(f"cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        loader.dispose()
