"""The kinds' own settings in the ```yaml devloop block: bigquery, logging, http, command.

Each is checked as far as it can be before anything runs: durations,
query parameters against the SQL's ``@names``, url schemes, templates.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from devloop.after_deploy.checks.expr import check_template
from devloop.after_deploy.checks.params import infer_array, param_mismatch
from devloop.after_deploy.checks.sql import not_one_read
from devloop.runtime.durations import parse_duration
from devloop.runtime.errors import ConfigError

MAX_FILTER_CHARS = 20_000


def _seconds(value: Any) -> float:
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_seconds)]


def _param_value(value: Any) -> Any:
    scalar = (str, int, float, bool)
    if isinstance(value, scalar) or (isinstance(value, list) and all(isinstance(v, scalar) for v in value)):
        return value
    raise ValueError(f"{value!r} is not a string, number, boolean or a list of them")


ParamValue = Annotated[Any, AfterValidator(_param_value)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _vet_template(text: str) -> set[str]:
    try:
        return check_template(text)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


class BigQuerySpec(StrictModel):
    """A query whose values travel only as typed query parameters."""

    query: str = Field(min_length=1)
    params: dict[str, ParamValue] = Field(default_factory=dict)
    max_bytes_billed: int | None = Field(None, ge=1, description="Lowered to the workspace's gcp.max_bytes_billed.")
    dry_run: bool = False
    timeout: Duration | None = Field(None, description="Defaults to gcp.query_timeout.")

    @field_validator("query")
    @classmethod
    def _read_only(cls, query: str) -> str:
        if problem := not_one_read(query):
            raise ValueError(f"not run: {problem}")
        return query

    @field_validator("params")
    @classmethod
    def _params_match_query(cls, params: dict[str, Any], info: Any) -> dict[str, Any]:
        for name, value in params.items():
            if not name.isidentifier() or not name.isascii():
                raise ValueError(f"parameter name {name!r} is not an identifier")
            strings = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
            for text in strings:
                _vet_template(text)
            if isinstance(value, list) and not any("{" in v for v in strings):
                try:  # a templated list is typed after rendering, at run time
                    infer_array(value)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        query = info.data.get("query")
        problem = param_mismatch(query, set(params)) if query else None
        if problem:
            raise ValueError(problem)
        return params

    def templates(self) -> list[str]:
        values = [v for p in self.params.values() for v in (p if isinstance(p, list) else [p])]
        return [v for v in values if isinstance(v, str)]


class LoggingSpec(StrictModel):
    """Entries matching a Cloud Logging filter inside a time window; devloop adds the window."""

    filter: str = Field(min_length=1, max_length=MAX_FILTER_CHARS)
    page_size: int = Field(1000, ge=1, le=1000)
    max_entries: int = Field(10_000, ge=1, le=100_000, description="Stop counting past this many (count = max+1).")
    timeout: Duration | None = Field(None, description="For all pages together; defaults to gcp.query_timeout.")

    def templates(self) -> list[str]:
        return []


class HttpSpec(StrictModel):
    url: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    timeout: Duration = 30.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        _vet_template(url)
        return url

    @field_validator("headers")
    @classmethod
    def _header_templates(cls, headers: dict[str, str]) -> dict[str, str]:
        for value in headers.values():
            _vet_template(value)
        return headers

    @model_validator(mode="after")
    def _body_needs_post(self) -> HttpSpec:
        if self.body is not None and self.method != "POST":
            raise ValueError("body is only sent with method: POST")
        return self

    def templates(self) -> list[str]:
        return [self.url, *self.headers.values()]


class CommandSpec(StrictModel):
    argv: list[str] = Field(min_length=1)
    timeout: Duration = 30.0

    def templates(self) -> list[str]:
        return []


Spec = BigQuerySpec | LoggingSpec | HttpSpec | CommandSpec
