"""Hostile check definitions (an agent writes validation.md): each refused or neutralised with one clear error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devloop.after_deploy.checks import CheckContext, run_checks
from devloop.runtime.errors import ConfigError
from tests.checks.helpers import block

ESCAPES = [
    "__class__",
    "''.__class__.__mro__[1].__subclasses__()",
    "lipsum.__globals__['os'].system('touch pwned')",
    "cycler.__init__.__globals__.os.popen('id').read()",
    "joiner.__init__.__globals__",
    "namespace.__init__.__globals__",
    "self.__init__.__globals__",
    "stdout.__class__.__base__.__subclasses__()",
    "range.__self__",
    "(stdout | attr('__class__'))",
]


@pytest.mark.parametrize("expr", ESCAPES)
def test_sandbox_escapes_are_refused_when_validation_md_is_read(expr: str) -> None:
    text = f'smoke:\n  - name: escape\n    command: {{argv: [echo, hi]}}\n    expect: "{expr}"\n'
    with pytest.raises(ConfigError) as caught:
        block(text)
    message = str(caught.value)
    assert "smoke.0.expect (escape)" in message, message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("expr", ["config.items()", "request.application", "os.system('id') == 0", "g.pop"])
def test_names_that_do_not_exist_end_as_an_error_never_a_pass(expr: str, make_ctx: Callable[..., CheckContext]) -> None:
    """Names depend on what a check observes, so an unknown one is found when it runs: ERROR, never PASS."""
    text = f'smoke:\n  - name: probe\n    command: {{argv: [echo, hi]}}\n    expect: "{expr}"\n'
    try:
        checks = block(text).smoke
    except ConfigError:
        return  # refused even earlier: fine
    [r] = run_checks(checks, make_ctx())
    assert r.outcome == "ERROR", r.line()
    assert "undefined" in r.detail or "not allowed" in r.detail or "unsafe" in r.detail, r.detail


def test_shell_metacharacters_in_a_command_check_are_plain_arguments(
    tmp_path: Path, make_ctx: Callable[..., CheckContext]
) -> None:
    """argv is run as a list, never through a shell: $(...), backticks, ; and > are just text."""
    hostile = "$(touch pwned1); `touch pwned2`; touch pwned3 > pwned4 && echo owned"
    text = f"smoke:\n  - name: meta\n    command: {{argv: [echo, '{hostile}']}}\n    expect: exit_code == 0\n"
    ctx = make_ctx()
    [r] = run_checks(block(text).smoke, ctx)
    assert r.outcome == "PASS", r.line()
    assert r.actual["stdout"] == hostile + "\n"
    assert not list(Path(ctx.workspace).glob("pwned*"))


def test_a_query_is_never_a_template(tmp_path: Path) -> None:
    """Only params are rendered; text in the query that looks like a template stays text (no injection path)."""
    check = block(
        "smoke:\n  - name: q\n    bigquery:\n      query: \"SELECT '{{ today }}' AS s, @d AS d\"\n"
        "      params: {d: '{{ today }}'}\n    expect: s != ''\n"
    ).smoke[0]
    assert check.spec.templates() == ["{{ today }}"]  # the parameter's value, not the query


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("    command: {argv: [echo], shell: true}\n", "shell"),
        ("    command: {argv: [echo]}\n    rollback: [rm, -rf, /]\n", "rollback"),
        ("    command: {argv: []}\n", "argv"),
        ("    command: {argv: [echo], timeout: 0s}\n", "timeout"),
        ("    command: {argv: [echo], timeout: 8d}\n", "timeout"),
        ("    http: {url: 'file:///etc/passwd'}\n", "url"),
        ("    http: {url: 'http://x', method: DELETE}\n", "method"),
    ],
    ids=["shell_key", "rollback_key", "empty_argv", "zero_timeout", "huge_timeout", "file_url", "delete"],
)
def test_hostile_keys_and_values_are_one_clear_error(item: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        block(f"smoke:\n  - name: bad\n{item}    expect: exit_code == 0\n")
    message = str(caught.value)
    assert says in message and "bad" in message, message
    assert len(message.splitlines()) == 1
