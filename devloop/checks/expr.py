"""Check expressions and value templates, both in jinja2's immutable sandbox, never ``eval``.

Expressions (``n > 0``, ``status == 200 and "ok" in body``) are checked when
validation.md is parsed: syntax, length, and no name or attribute starting
with ``_``, so a typo or a probe for ``__class__`` is a config error before
anything is deployed. At run time an undefined name, a sandbox refusal or a
result that is not exactly true/false is an :class:`ExprError`, which the
runner reports as ERROR: never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import TemplateError
from jinja2.parser import Parser
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from devloop.errors import ConfigError

MAX_EXPR_CHARS = 500
TEMPLATE_NAMES = frozenset({"today", "yesterday", "now", "deploy_time", "feature", "version"})
WINDOW_NAMES = frozenset({"window_start", "window_end"})

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class ExprError(Exception):
    """An expression or template could not be evaluated (the check is an ERROR)."""


class Expr:
    """A compiled expression; calling it with the observed names returns its raw value."""

    def __init__(self, text: str, names: frozenset[str]) -> None:
        self.text = text
        self.names = names  # the names it reads, to show them in the result line
        self._fn = _ENV.compile_expression(text, undefined_to_none=False)

    def __call__(self, values: Mapping[str, Any]) -> Any:
        try:
            result = self._fn(**values)
        except TemplateError as exc:  # UndefinedError, SecurityError
            raise ExprError(f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:  # comparing None with 0, dividing by zero: the data, not a pass
            raise ExprError(f"{type(exc).__name__}: {exc}") from None
        if isinstance(result, Undefined):
            raise ExprError(f"{result._undefined_name!r} is undefined")
        return result

    def truth(self, values: Mapping[str, Any]) -> bool:
        """True or False; anything else (a number, a string, None) is an ExprError."""
        result = self(values)
        if not isinstance(result, bool):
            raise ExprError(f"the expression gave {type(result).__name__} {result!r}, not true/false")
        return result


def compile_expr(text: str) -> Expr:
    """Parse and vet ``text``; ConfigError on syntax, length or ``_`` names."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("the expression is empty")
    if len(text) > MAX_EXPR_CHARS:
        raise ConfigError(f"the expression is longer than {MAX_EXPR_CHARS} characters")
    try:
        parser = Parser(_ENV, text, state="variable")
        node = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", parser.stream.current.lineno)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"expression {text!r} does not parse: {exc.message}") from None
    _vet(node, text)
    return Expr(text, frozenset(n.name for n in _walk(node, nodes.Name)))


def check_template(text: str, allowed: frozenset[str] = TEMPLATE_NAMES | WINDOW_NAMES) -> set[str]:
    """The context names a value template reads; ConfigError unless it parses and reads only known names."""
    if "{" not in text:
        return set()
    try:
        ast = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template {text!r} does not parse: {exc.message}") from None
    _vet(ast, text)
    unknown = meta.find_undeclared_variables(ast) - allowed
    if unknown:
        raise ConfigError(
            f"template {text!r} uses {', '.join(sorted(unknown))}; available: {', '.join(sorted(allowed))}"
        )
    return set(meta.find_undeclared_variables(ast))


def render(text: str, context: Mapping[str, Any]) -> str:
    """``text`` with its ``{{ ... }}`` filled from ``context``; a missing name is an ExprError."""
    if "{" not in text:
        return text
    try:
        return _ENV.from_string(text).render({k: v for k, v in context.items() if v is not None})
    except TemplateError as exc:
        raise ExprError(f"template {text!r}: {exc}") from None


def _walk(node: nodes.Node, types: Any) -> list[Any]:
    """The node itself (find_all skips it) and every descendant of the given types."""
    return ([node] if isinstance(node, types) else []) + list(node.find_all(types))


def _vet(node: nodes.Node, text: str) -> None:
    """Refuse private names and attributes outright instead of relying on the run-time sandbox."""
    for n in _walk(node, (nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Const)):
        word = getattr(n, "name", None) or getattr(n, "attr", None)
        if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const):
            word = n.arg.value
        if isinstance(n, nodes.Const):
            word = n.value if isinstance(n.value, str) and n.value.startswith("__") else None
        if isinstance(word, str) and word.startswith("_"):
            raise ConfigError(f"{text!r} uses {word!r}: names starting with '_' are not allowed")
