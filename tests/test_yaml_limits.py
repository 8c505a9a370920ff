"""Every YAML an agent can write is parsed with limits: no aliases, capped depth, nodes and numbers."""

from __future__ import annotations

import pytest

from devloop.after_deploy.checks.parse import parse_check_block
from devloop.config.load import parse_config
from devloop.runtime.errors import ConfigError
from devloop.runtime.safeyaml import MAX_DEPTH, YamlLimit, load

# nine levels of aliases: 2**9 copies of a list, each of 2**9 ... (billion laughs)
BOMB = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n"
    for i in range(1, 10)
)
DEEP = "x: " + "[" * 20_000 + "]" * 20_000 + "\n"
HUGE = "x: " + "9" * 5000 + "\n"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BOMB, "line 2: aliases (*a0) are not accepted here"),
        (DEEP, f"line 1: nested deeper than {MAX_DEPTH} levels"),
        (HUGE, "line 1: a number of more than 40 digits"),
        ("a: [1, 2\n", "not valid YAML"),
    ],
    ids=["alias_bomb", "deep", "huge_number", "broken"],
)
def test_hostile_yaml_is_one_short_error_fast(text: str, says: str) -> None:
    with pytest.raises(YamlLimit) as caught:
        load(text)
    assert says in str(caught.value) and len(str(caught.value)) < 300


def block(body: str) -> str:
    return "# Checks\n\nProse.\n\n```yaml devloop\n" + body + "```\n"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            "smoke:\n  - name: q\n    bigquery:\n      query: SELECT @p AS n\n"
            "      params: {p: *x}\n    expect: n > 0\n",
            "validation.md line 10 (block at line 5): aliases (*x) are not accepted here",
        ),
        (BOMB, "validation.md line 7 (block at line 5): aliases (*a0)"),
        ("smoke: " + "[" * 5000 + "]" * 5000 + "\n", "(block at line 5): nested deeper than 64 levels"),
        (
            "smoke:\n  - name: n\n    command: {argv: [x], timeout: " + "9" * 5000 + "}\n    expect: exit_code == 0\n",
            "more than 40 digits",
        ),
    ],
    ids=["alias", "bomb", "deep", "huge"],
)
def test_the_check_block_an_agent_writes_is_parsed_with_limits(body: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_check_block(block(body), "validation.md")
    assert says in str(caught.value)
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BOMB, "devloop.yaml: line 2: aliases (*a0) are not accepted here"),
        (DEEP, "devloop.yaml: line 1: nested deeper than 64 levels"),
        ("agents: {a: {kind: command, argv: [x], timeout: " + "9" * 5000 + "}}\n", "more than 40 digits"),
        (
            "agents: {a: {kind: command, argv: [x], timeout: .inf}}\n",
            "agents.a.timeout: Input should be a finite number",
        ),
        ("agents: {a: {kind: command, argv: [x], timeout: 1.0e999}}\n", "agents.a.timeout: Input should be a finite"),
        ("agents: {a: {kind: command, argv: [x], timeout: 100000000}}\n", "agents.a.timeout: Input should be less"),
        ("steps: {implement: {gate_timeout: .nan}}\n", "steps.implement.gate_timeout"),
    ],
    ids=["bomb", "deep", "huge", "inf", "overflow", "too_long", "nan"],
)
def test_devloop_yaml_has_the_same_limits_and_finite_bounded_numbers(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert says in str(caught.value)
    assert caught.value.exit_code == 3


def test_a_huge_value_is_quoted_never_dumped() -> None:
    body = (
        "smoke:\n  - name: q\n    bigquery:\n      query: SELECT @p AS n\n      params: {p: {k: "
        + "v" * 100_000
        + "}}\n    expect: n > 0\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_check_block(block(body), "validation.md")
    assert "params" in str(caught.value) and len(str(caught.value)) < 600


def test_a_long_step_detail_is_bounded_in_the_lock() -> None:
    from devloop.provenance.state import MAX_DETAIL_CHARS, Attempt, StepRecord

    rec = StepRecord()
    rec.attempt = Attempt(n=1, base={}, started="t")
    rec.fail("x" * 1_000_000)
    assert rec.detail is not None and len(rec.detail) < MAX_DETAIL_CHARS + 100
    assert rec.detail.endswith("[998,000 more characters not kept]")


def test_a_control_character_is_a_short_error_not_a_crash() -> None:
    """Found by the fuzz test: PyYAML's reader refuses it while the loader is being built."""
    with pytest.raises(YamlLimit, match="not valid YAML"):
        load("\x08\n")
