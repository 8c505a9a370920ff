"""Expressions and value templates run in jinja2's sandbox; anything odd is an error, never a pass."""

from __future__ import annotations

import pytest

from devloop.after_deploy.checks.expr import ExprError, check_template, compile_expr, render
from devloop.runtime.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("n > 0", {"n": 3}, True),
        ("n > 0", {"n": 0}, False),
        ("status == 200 and 'ok' in body", {"status": 200, "body": "all ok"}, True),
        ("latency_ms < 500", {"latency_ms": 12.5}, True),
        ("count <= 50", {"count": 51}, False),
        ("stdout.strip() == 'ready'", {"stdout": "ready\n"}, True),
        (
            "headers['content-type'].startswith('application/json')",
            {"headers": {"content-type": "application/json"}},
            True,
        ),
        ("rows == 0 or n is none", {"rows": 1, "n": None}, True),
        ("body | length > 3", {"body": "abcd"}, True),
    ],
)
def test_expressions_evaluate_over_the_observed_names(text: str, values: dict, expected: bool) -> None:
    assert compile_expr(text).truth(values) is expected


@pytest.mark.parametrize(
    "text",
    [
        "x.__class__",
        "x.__class__.__mro__",
        "_secret > 1",
        "x._private",
        "x['__class__']",
        "x|attr('__class__')",
        "__import__",
    ],
)
def test_private_names_and_attributes_are_refused_when_compiled(text: str) -> None:
    with pytest.raises(ConfigError, match="names starting with '_' are not allowed"):
        compile_expr(text)


@pytest.mark.parametrize("text", ["n >", "n > 0 }}{{ 1", "{% if %}", "n = 1", ""])
def test_syntax_errors_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        compile_expr(text)


def test_length_is_limited() -> None:
    compile_expr("n > " + "1" * 496)
    with pytest.raises(ConfigError, match="longer than 500 characters"):
        compile_expr("n > " + "1" * 497)


def test_the_names_an_expression_reads_are_known() -> None:
    assert compile_expr("status == 200 and 'ok' in body").names == {"status", "body"}
    assert compile_expr("n").names == {"n"}


@pytest.mark.parametrize(
    ("text", "values", "reason"),
    [
        ("n > 0", {}, "'n' is undefined"),
        ("n", {"n": 5}, "gave int 5, not true/false"),
        ("body", {"body": "yes"}, "gave str 'yes', not true/false"),
        ("missing", {}, "'missing' is undefined"),
        ("n > 0", {"n": None}, "TypeError"),
        ("1 / n > 0", {"n": 0}, "ZeroDivisionError"),
        ("range(10 ** 9) | length > 0", {}, "OverflowError"),
    ],
)
def test_run_time_problems_are_errors_never_a_pass(text: str, values: dict, reason: str) -> None:
    expr = compile_expr(text)
    with pytest.raises(ExprError, match=reason.replace("(", r"\(")):
        expr.truth(values)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("headers.clear() is none", "calls 'clear'"),
        ("headers.update({'a': 'c'}) is none", "calls 'update'"),
        ("'{0.__class__}'.format(stdout) != ''", "calls 'format'"),
        ("lipsum(10 ** 6) != ''", "calls 'lipsum'"),
    ],
)
def test_calls_outside_the_allow_list_are_refused_when_compiled(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        compile_expr(text)


class Ledger:
    """An observed value whose ``get`` has a side effect: only plain str/dict/list/tuple methods may run."""

    def __init__(self) -> None:
        self.calls = 0

    def get(self, key: str) -> None:
        self.calls += 1


def test_at_run_time_only_methods_of_plain_values_are_called() -> None:
    ledger = Ledger()
    with pytest.raises(ExprError, match="SecurityError"):
        compile_expr("x.get('a') is none").truth({"x": ledger})
    assert ledger.calls == 0
    assert compile_expr("x.get('a') == 1").truth({"x": {"a": 1}}) is True


def test_templates_render_from_the_context_and_refuse_unknown_names() -> None:
    assert render("day={{ today }}", {"today": "2024-05-02"}) == "day=2024-05-02"
    assert render("no template here", {}) == "no template here"
    with pytest.raises(ExprError, match="'version' is undefined"):
        render("{{ version }}", {"version": None})
    assert check_template("{{ today }}/{{ feature }}") == {"today", "feature"}
    with pytest.raises(ConfigError, match="uses secrets"):
        check_template("{{ secrets }}")
    with pytest.raises(ConfigError, match="does not parse"):
        check_template("{{ today ")
