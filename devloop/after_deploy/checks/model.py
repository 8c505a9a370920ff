"""The schema of the ```yaml devloop block in validation.md: smoke checks, rollback triggers, monitoring.

Everything that can be known before a deploy is checked when the file is
parsed: one kind per check, unique names, windows, and the expressions
themselves. A mistake is one ConfigError naming the file, the block's line,
the field path and the check.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from devloop.after_deploy.checks.block import format_errors
from devloop.after_deploy.checks.expr import WINDOW_NAMES, Expr, check_template, compile_expr
from devloop.after_deploy.checks.specs import (
    BigQuerySpec,
    CommandSpec,
    Duration,
    HttpSpec,
    LoggingSpec,
    Spec,
    StrictModel,
)
from devloop.runtime.errors import ConfigError

KINDS = ("bigquery", "logging", "http", "command")
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"


class _Probe(StrictModel):
    """What smoke checks and rollback triggers share: a name, one kind, an optional window."""

    name: str = Field(pattern=NAME_PATTERN)
    bigquery: BigQuerySpec | None = None
    logging: LoggingSpec | None = None
    http: HttpSpec | None = None
    command: CommandSpec | None = None
    window: Duration | None = Field(None, description="Logging: how far back to count. Others: window_* templates.")
    _expr: Expr = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                known = ", ".join(k for k in cls.model_fields if k not in KINDS)
                raise ValueError(f"unknown key {', '.join(unknown)}; kinds: {', '.join(KINDS)}; other keys: {known}")
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> _Probe:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            found = f"found {' and '.join(given)}" if given else "found none"
            raise ValueError(f"give exactly one kind ({', '.join(KINDS)}); {found}")
        if self.window is None and any(check_template(t) & WINDOW_NAMES for t in self.spec.templates()):
            raise ValueError("window_start/window_end need a window")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> Spec:
        return getattr(self, self.kind)

    @property
    def expr(self) -> Expr:
        return self._expr


def _vet_expr(text: str) -> str:
    try:
        compile_expr(text)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return text


class Check(_Probe):
    """A smoke check: PASS when ``expect`` is true over what its kind observed."""

    expect: str

    @field_validator("expect")
    @classmethod
    def _compiles(cls, text: str) -> str:
        return _vet_expr(text)

    def model_post_init(self, context: Any, /) -> None:
        self._expr = compile_expr(self.expect)

    @property
    def expression(self) -> str:
        return self.expect


class Trigger(_Probe):
    """A rollback trigger: it FIRES when ``fire_when`` is true."""

    fire_when: str

    @field_validator("fire_when")
    @classmethod
    def _compiles(cls, text: str) -> str:
        return _vet_expr(text)

    def model_post_init(self, context: Any, /) -> None:
        self._expr = compile_expr(self.fire_when)

    @model_validator(mode="after")
    def _logging_needs_window(self) -> Trigger:
        if self.logging is not None and self.window is None:
            raise ValueError("a logging trigger needs a window (e.g. window: 10m)")
        return self

    @property
    def expression(self) -> str:
        return self.fire_when


class Monitoring(StrictModel):
    duration: Duration
    interval: Duration

    @model_validator(mode="after")
    def _interval_fits(self) -> Monitoring:
        if self.interval > self.duration:
            raise ValueError("interval must not be longer than duration")
        if self.interval < MIN_INTERVAL_S:
            raise ValueError(f"interval must be at least {MIN_INTERVAL_S:g}s (each round queries production)")
        return self


MIN_INTERVAL_S = 1.0


class CheckBlock(StrictModel):
    smoke: list[Check] = Field(default_factory=list)
    rollback_triggers: list[Trigger] = Field(default_factory=list)
    monitoring: Monitoring | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_rollback_here(cls, data: object) -> object:
        """validation.md is an agent's text: a rollback command from it would run an agent's command."""
        if isinstance(data, dict) and "rollback" in data:
            raise ValueError(
                "rollback: not allowed here; the rollback command lives in devloop.yaml (deploy.rollback), "
                "never in validation.md"
            )
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> CheckBlock:
        seen: set[str] = set()
        for probe in [*self.smoke, *self.rollback_triggers]:
            if probe.name in seen:
                raise ValueError(f"the name {probe.name!r} is used twice; names are unique within the block")
            seen.add(probe.name)
        return self


def validate_block(data: dict[str, Any], where: str) -> CheckBlock:
    """The loaded block validated; one ConfigError naming ``where``, the field path and the check otherwise."""
    try:
        return CheckBlock.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(where, exc, data)) from None
