"""Hostile expressions end as errors, quickly and small: never a pass, a hang or gigabytes.

validation.md is written by an agent, so an expression is untrusted input.
Time bounds here are generous (CI machines are slow); what each test pins is
the outcome and, for the limits, that the limit and not luck ended it.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from devloop.after_deploy.checks import CheckContext, run_checks
from devloop.after_deploy.checks.expr import EVAL_MEMORY, ExprError, check_template, compile_expr, render
from devloop.runtime.errors import ConfigError
from tests.checks.helpers import block

VALUES = {"exit_code": 0, "n": 5, "body": "hello", "stdout": "ok\n"}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("(exit_code + 200) ** (10**7) > 0", "'\\*\\*' would build an integer of 76,438,562 bits"),
        ("'a' * 10**9 != ''", "'\\*' would build 1,000,000,000 items or characters"),
        ("10**(10**10) > 0", "'\\*\\*' would build an integer of 33,219,280,949 bits"),
        ("2 ** 60000 * 2 ** 60000 > 0", "'\\*' would build an integer of 120,002 bits"),
        ("[body] * 10**7 != []", "'\\*' would build 10,000,000 items"),
        ("body * 300000 + body * 300000 != ''", "'\\+' would build 3,000,000 items"),
        ("'%0999999999d' % 1 != ''", "string formatting with % is not allowed"),
        ("range(10**9) | list | length > 0", "OverflowError: Range too big"),
        ("3 ** (2 ** 5000) > 0", "'\\*\\*' would build an integer of about 2\\*\\*5000 bits"),
    ],
)
def test_an_unbounded_operation_is_refused_before_it_runs(text: str, reason: str) -> None:
    before = _rss_mb()
    with pytest.raises(ExprError, match=reason):
        compile_expr(text).truth(VALUES)
    assert _rss_mb() - before < 200  # nothing of the size asked for was built


def test_compiling_computes_nothing() -> None:
    """jinja2 folds constants while compiling; with folding off, `'a'*10**9` costs nothing until run (refused)."""
    before = _rss_mb()
    expr = compile_expr("'a' * 10**9 == '' or 10**(10**10) > 0")
    assert _rss_mb() - before < 200
    with pytest.raises(ExprError, match="would build"):
        expr.truth({})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("(" * 200 + "1" + ")" * 200 + " > 0", "nested more than 64 levels"),
        ("not " * 100 + "n", "nested more than 64 levels"),
        ("n" + ".a" * 200, "nested more than 64 levels"),
        ("'a' | center(10**9) != ''", "uses the filter 'center'"),
        ("'a' | indent(10**9) != ''", "uses the filter 'indent'"),
        ("'{:>999999999}'.format(1) != ''", "calls 'format'"),
        ("body.ljust(10**9) != ''", "calls 'ljust'"),
        ("lipsum(10**6) != ''", "calls 'lipsum'"),
        ("cycler.__init__ is none", "names starting with '_'"),
        ("lipsum.__globals__ is none", "names starting with '_'"),
        ("n.__class__.__mro__ is none", "names starting with '_'"),
        ("range(*[9]) | length > 0", r"\*args"),
    ],
)
def test_hostile_shapes_are_config_errors_when_validation_md_is_read(text: str, reason: str) -> None:
    assert len(text) <= 500
    with pytest.raises(ConfigError, match=reason):
        compile_expr(text)


def test_an_expression_that_runs_too_long_is_stopped_at_its_deadline() -> None:
    """round(5, -10**9) computes 10**(10**9) inside C: only killing the child ends it."""
    expr = compile_expr("(n | round(-(10**9))) == 0")
    assert not expr.fast
    with pytest.raises(ExprError, match=r"did not finish within 0.5s \(stopped\)"):
        expr.truth(VALUES, timeout=0.5)


def test_an_expression_that_needs_too_much_memory_is_stopped() -> None:
    """400 MB would be built (and the test would pass it) without the child's memory limit."""
    before = _rss_mb()
    expr = compile_expr("range(99999) | join('x' * 4000) | length > 0")
    with pytest.raises(ExprError, match=f"needed more than {EVAL_MEMORY // 2**20} MB"):
        expr.truth(VALUES)
    assert _rss_mb() - before < 100  # the parent built nothing


def test_ordinary_expressions_run_in_process_and_richer_ones_in_the_child() -> None:
    fast = ["exit_code == 0", "status == 200 and 'ok' in body", "stdout | trim | int > 5", "n ** 2 in (25, 36)"]
    assert all(compile_expr(t).fast for t in fast)
    rich = {
        "range(3) | list == [0, 1, 2]": True,
        "body | list | sort | join == 'ehllo'": True,
        "body ~ '!' == 'hello!'": True,
        "[n, n] | sum == 10": True,
        "body.split('l') | length == 3": True,
    }
    for text, expected in rich.items():
        expr = compile_expr(text)
        assert not expr.fast and expr.truth(VALUES) is expected, text


def test_a_result_the_child_cannot_send_back_is_an_error_not_a_pass() -> None:
    with pytest.raises(ExprError, match="not true/false"):
        compile_expr("body | list | unique").truth(VALUES)  # a generator


def test_interrupting_an_evaluation_stops_its_child() -> None:
    """Ctrl-C while a child evaluates: the interrupt reaches the caller at once and no child is left."""
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to list children")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    before = _children(os.getpid())  # servers other tests started
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            compile_expr("(n | round(-(10**9))) == 0").truth(VALUES, timeout=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert _children(os.getpid()) - before == set()


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{% for x in range(9) %}x{% endfor %}", "only {{ ... }} substitutions"),
        ("{{ today | center(10**9) }}", "uses the filter 'center'"),
        ("{{ range(9) | list }}", "too elaborate"),
        ("{{ today ~ today }}", "too elaborate"),
    ],
)
def test_value_templates_are_held_to_the_in_process_subset(template: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        check_template(template)
    with pytest.raises(ExprError, match=reason):
        render(template, {"today": "2024-05-02"})


def test_a_huge_value_built_in_a_template_is_refused() -> None:
    assert render("{{ today | upper }}/{{ feature }}", {"today": "d", "feature": "f"}) == "D/f"
    with pytest.raises(ExprError, match="would build"):
        render("{{ 'a' * 10**9 }}", {})


NOOP = f"['{sys.executable}', -c, pass]"


@pytest.mark.parametrize(
    "expect",
    [
        '"(exit_code + 200) ** (10**7) > 0"',
        "\"'a' * 10**9 != ''\"",
        '"10**(10**10) > 0"',
        '"range(10**9) | list | length > 0"',
        '"(exit_code | round(-(10**9))) == 0"',
    ],
)
def test_a_hostile_expression_is_an_error_naming_the_check(make_ctx: Callable[..., CheckContext], expect: str) -> None:
    item = f"  - name: hostile\n    command: {{argv: {NOOP}, timeout: 3s}}\n    expect: {expect}\n"
    [result] = run_checks(block("smoke:\n" + item).smoke, make_ctx())
    assert result.outcome == "ERROR", result.line()
    assert result.line().startswith("ERROR hostile (command) ")
