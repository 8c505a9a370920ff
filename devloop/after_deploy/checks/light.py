"""Command-only check blocks, validated without pydantic.

``doit smoke`` of a feature whose checks are all ``command:`` should not pay
for importing pydantic and building its models (about 90 ms of a process
that otherwise costs a few hundred). :func:`light_block` accepts a strict
subset of what :class:`devloop.after_deploy.checks.model.CheckBlock` accepts, builds the
same values, and returns None for everything else: any other kind, any key,
type or value it does not vouch for, and every invalid block. The caller
then validates with the pydantic models, which stay the single authority on
errors, so a mistake is worded exactly as before. tests/checks/test_light.py
holds the two to the same answers.

Expressions are compiled here as in the models (jinja2's sandbox, vetted by
:func:`devloop.after_deploy.checks.expr.compile_expr`); only the schema is checked by hand.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from devloop.after_deploy.checks.expr import Expr, compile_expr
from devloop.runtime.durations import parse_duration

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")  # model.NAME_PATTERN, matched whole (no `$` before a newline)
_TOP_KEYS = frozenset({"smoke", "rollback_triggers", "monitoring"})
_PROBE_KEYS = frozenset({"name", "command", "window"})
_COMMAND_KEYS = frozenset({"argv", "timeout"})
_MONITORING_KEYS = frozenset({"duration", "interval"})
MIN_INTERVAL_S = 1.0  # model.MIN_INTERVAL_S (a test keeps the two equal)
DEFAULT_TIMEOUT_S = 30.0  # specs.CommandSpec.timeout's default


class _NotVouched(Exception):
    """Not in the subset: let the pydantic models decide (and word any error)."""


@dataclass
class CommandSpec:
    argv: list[str]
    timeout: float = DEFAULT_TIMEOUT_S

    def templates(self) -> list[str]:
        return []


@dataclass
class _Probe:
    name: str
    command: CommandSpec
    window: float | None = None
    bigquery: None = None
    logging: None = None
    http: None = None
    _expr: Expr | None = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return "command"

    @property
    def spec(self) -> CommandSpec:
        return self.command

    @property
    def expr(self) -> Expr:
        assert self._expr is not None
        return self._expr


@dataclass
class Check(_Probe):
    expect: str = ""

    @property
    def expression(self) -> str:
        return self.expect


@dataclass
class Trigger(_Probe):
    fire_when: str = ""

    @property
    def expression(self) -> str:
        return self.fire_when


@dataclass
class Monitoring:
    duration: float
    interval: float


@dataclass
class CheckBlock:
    smoke: list[Check] = field(default_factory=list)
    rollback_triggers: list[Trigger] = field(default_factory=list)
    monitoring: Monitoring | None = None


def light_block(data: dict[str, Any]) -> CheckBlock | None:
    """The block when it is a valid command-only one this module can vouch for; None means: ask pydantic."""
    try:
        return _block(data)
    except _NotVouched:
        return None
    except Exception:  # whatever a value makes a helper raise, the models decide what it means
        return None


def _block(data: dict[str, Any]) -> CheckBlock:
    _keys(data, _TOP_KEYS)
    smoke = [_probe(item, "expect") for item in _list(data.get("smoke", []))]
    triggers = [_probe(item, "fire_when") for item in _list(data.get("rollback_triggers", []))]
    names = [p.name for p in [*smoke, *triggers]]
    if len(set(names)) != len(names):
        raise _NotVouched
    monitoring = data.get("monitoring")
    return CheckBlock(smoke, triggers, None if monitoring is None else _monitoring(monitoring))


def _probe(item: Any, expression_key: str) -> Check | Trigger:
    if not isinstance(item, dict):
        raise _NotVouched
    _keys(item, _PROBE_KEYS | {expression_key}, required=frozenset({"name", "command", expression_key}))
    name, text = _str(item["name"]), _str(item[expression_key])
    if not _NAME.fullmatch(name):
        raise _NotVouched
    window = item.get("window")
    spec, seconds = _command(item["command"]), None if window is None else _duration(window)
    expr = compile_expr(text)  # a ConfigError lands in light_block: the models word it
    if expression_key == "expect":
        return Check(name, spec, seconds, _expr=expr, expect=text)
    return Trigger(name, spec, seconds, _expr=expr, fire_when=text)


def _command(value: Any) -> CommandSpec:
    if not isinstance(value, dict):
        raise _NotVouched
    _keys(value, _COMMAND_KEYS, required=frozenset({"argv"}))
    argv = [_str(a) for a in _list(value["argv"])]
    if not argv:
        raise _NotVouched
    return CommandSpec(argv, _duration(value["timeout"]) if "timeout" in value else DEFAULT_TIMEOUT_S)


def _monitoring(value: Any) -> Monitoring:
    if not isinstance(value, dict):
        raise _NotVouched
    _keys(value, _MONITORING_KEYS, required=_MONITORING_KEYS)
    duration, interval = _duration(value["duration"]), _duration(value["interval"])
    if interval > duration or interval < MIN_INTERVAL_S:
        raise _NotVouched
    return Monitoring(duration, interval)


def _keys(mapping: dict[Any, Any], allowed: frozenset[str], required: frozenset[str] = frozenset()) -> None:
    keys = set(mapping)
    if not all(type(k) is str for k in keys) or not keys <= allowed or not required <= keys:
        raise _NotVouched


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _NotVouched
    return value


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _NotVouched
    return value


def _duration(value: Any) -> float:
    """What ``specs.Duration`` gives for a plain number or string; anything else is the models' to judge."""
    if type(value) not in (int, float, str):
        raise _NotVouched
    seconds = parse_duration(value)  # ValueError: the models word it
    if type(seconds) is not float or not math.isfinite(seconds):
        raise _NotVouched
    return seconds
