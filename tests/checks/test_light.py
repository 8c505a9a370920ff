"""The pydantic-free path for command-only blocks: never accepts what the models refuse, gives the same values.

``devloop.after_deploy.checks.light`` validates a command-only block without importing
pydantic. It must be a strict subset of the models: whatever it accepts, the
models accept with the same values; whatever the models refuse, it leaves to
them, so every error is worded by the models exactly as before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devloop.after_deploy.checks import light, model
from devloop.after_deploy.checks.parse import parse_check_block
from devloop.runtime.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def text_of(data: dict[str, Any]) -> str:
    """validation.md holding ``data`` as its devloop block (JSON is YAML)."""
    return f"# V\n\n```yaml devloop\n{json.dumps(data)}\n```\n"


def models(data: dict[str, Any]) -> model.CheckBlock:
    return model.CheckBlock.model_validate(data)


def summary(block: Any) -> dict[str, Any]:
    """Everything the runner, smoke and monitoring read from a block, as plain data."""

    def probe(p: Any) -> tuple[Any, ...]:
        return (type(p).__name__, p.name, p.kind, list(p.spec.argv), p.spec.timeout, p.window, p.expression)

    mon = block.monitoring
    return {
        "smoke": [probe(p) for p in block.smoke],
        "triggers": [probe(p) for p in block.rollback_triggers],
        "exprs": [(p.expr.text, p.expr.names, p.expr.fast) for p in [*block.smoke, *block.rollback_triggers]],
        "monitoring": None if mon is None else (mon.duration, mon.interval),
    }


def cmd(name: str, argv: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": {"argv": argv or ["true"]}, "expect": "exit_code == 0", **extra}


VALID = [
    {},
    {"smoke": []},
    {"smoke": [cmd("a")]},
    {"smoke": [cmd("a", ["sh", "-c", "test -f x"]), cmd("b-2_c", ["curl", "-fsS", "http://x/{{ feature }}"])]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "timeout": "1m30s"}, "expect": "'ok' in stdout"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "timeout": 5}, "expect": "stdout | trim | int > 1"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "timeout": 0.5}, "window": "10m", "expect": "true"}]},
    {"smoke": [cmd("a", window=None)], "monitoring": None, "rollback_triggers": []},
    {
        "smoke": [cmd("A" * 64)],
        "rollback_triggers": [{"name": "t", "command": {"argv": ["cat", "e"]}, "window": 60, "fire_when": "n > 5"}],
        "monitoring": {"duration": "30m", "interval": "1m"},
    },
    {"rollback_triggers": [{"name": "t", "command": {"argv": ["x"]}, "fire_when": "exit_code != 0"}]},
    {"smoke": [cmd("a")], "monitoring": {"duration": 2, "interval": 1}},
    {"smoke": [cmd("a", expect="(stdout | length) > 2 and exit_code in [0, 1]")]},
]


@pytest.mark.parametrize("data", VALID, ids=range(len(VALID)))
def test_a_valid_command_only_block_takes_the_light_path_with_the_models_values(data: dict[str, Any]) -> None:
    fast = light.light_block(data)
    assert isinstance(fast, light.CheckBlock)
    assert summary(fast) == summary(models(data))
    assert isinstance(parse_check_block(text_of(data)), light.CheckBlock)


NOT_VOUCHED = [  # each valid for the models, but not command-only plain data: the models take them
    {"smoke": [{"name": "h", "http": {"url": "https://x"}, "expect": "status == 200"}]},
    {
        "smoke": [cmd("a")],
        "rollback_triggers": [{"name": "l", "logging": {"filter": "x"}, "window": 60, "fire_when": "count > 1"}],
    },
]


@pytest.mark.parametrize("data", NOT_VOUCHED, ids=range(len(NOT_VOUCHED)))
def test_other_kinds_go_to_the_models(data: dict[str, Any]) -> None:
    assert light.light_block(data) is None
    assert isinstance(parse_check_block(text_of(data)), model.CheckBlock)


INVALID = [
    {"smoke": [cmd("a", ["true", 1])]},
    {"smoke": [{"name": "a", "command": {"argv": []}, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": "true"}, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "timeout": "soon"}, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "timeout": None}, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "timeout": True}, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "timeout": "8d"}, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"], "shell": True}, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": None, "expect": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"]}}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"]}, "expect": "__class__"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"]}, "expect": "a ="}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"]}, "expect": 1}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"]}, "fire_when": "x"}]},
    {"smoke": [{"name": "a", "command": {"argv": ["x"]}, "expect": "x", "window": "-1s"}]},
    {"smoke": [{"name": "a\n", "command": {"argv": ["x"]}, "expect": "x"}]},
    {"smoke": [{"name": "1a", "command": {"argv": ["x"]}, "expect": "x"}]},
    {"smoke": [{"name": "a" * 65, "command": {"argv": ["x"]}, "expect": "x"}]},
    {"smoke": [{"name": 7, "command": {"argv": ["x"]}, "expect": "x"}]},
    {"smoke": [cmd("a"), cmd("a")]},
    {"smoke": [cmd("a")], "rollback_triggers": [{"name": "a", "command": {"argv": ["x"]}, "fire_when": "x"}]},
    {"smoke": [cmd("a")], "rollback": {"command": ["./rollback.sh"]}},
    {"smoke": [cmd("a")], "extra": 1},
    {"smoke": None},
    {"smoke": {"a": cmd("a")}},
    {"smoke": ["a"]},
    {"smoke": [cmd("a", ["x"], http={"url": "https://x"})]},
    {"smoke": [cmd("a")], "monitoring": {"duration": "1m", "interval": "2m"}},
    {"smoke": [cmd("a")], "monitoring": {"duration": "1m", "interval": "500ms"}},
    {"smoke": [cmd("a")], "monitoring": {"duration": "1m"}},
    {"smoke": [cmd("a")], "monitoring": {"duration": "1m", "interval": "1s", "every": 1}},
]


@pytest.mark.parametrize("data", INVALID, ids=range(len(INVALID)))
def test_an_invalid_block_is_worded_by_the_models_exactly_as_before(data: dict[str, Any]) -> None:
    assert light.light_block(data) is None
    with pytest.raises(ConfigError) as via_parse:
        parse_check_block(text_of(data))
    with pytest.raises(ConfigError) as via_models:
        model.validate_block(data, "validation.md (block at line 3)")
    assert str(via_parse.value) == str(via_models.value)


def test_the_light_constants_are_the_models() -> None:
    assert light.MIN_INTERVAL_S == model.MIN_INTERVAL_S
    assert model.NAME_PATTERN == "^" + light._NAME.pattern + "$"
    assert model.CheckBlock.model_validate({"smoke": [cmd("a")]}).smoke[0].spec.timeout == light.DEFAULT_TIMEOUT_S


# -- soundness on generated near-misses ------------------------------------------------------------
# Mostly valid blocks with now and then a wrong value, an extra key or a missing one, so that both
# paths see many blocks the light path accepts and many it must leave to the models.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x", "a\n", "10m", "1h30m", "0s", "8d", "500ms", "true", "1a", "a-b", "é", "__class__"]),
)
_KEYS = ["other", "http", "logging", "window", "timeout", "rollback", "fire_when", "expect", "argv", "name"]


def _mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any] = _scalars) -> st.SearchStrategy[Any]:
    return st.integers(0, 24).flatmap(lambda i: invalid if i == 0 else valid)


def _tampered(mappings: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """Now and then one key more (any value) or one key fewer."""

    def tamper(args: tuple[dict[str, Any], int, str, Any]) -> dict[str, Any]:
        mapping, roll, key, value = args
        if roll == 0:
            return {**mapping, key: value}
        if roll == 1 and mapping:
            return {k: v for k, v in mapping.items() if k != sorted(mapping)[len(mapping) // 2]}
        return mapping

    return st.tuples(mappings, st.integers(0, 24), st.sampled_from(_KEYS), _scalars).map(tamper)


_names = _mostly(
    st.sampled_from(["a", "b", "a_1", "c-d", "A" * 64]),
    st.sampled_from(["A" * 65, "1a", "a\n", "-a", "é", ""]) | _scalars,
)
_durations = _mostly(st.sampled_from(["10m", "1h30m", "500ms", "1s", 5, 0.5, 60, 3600.0]))
_argv = _mostly(
    st.lists(_mostly(st.sampled_from(["true", "sh", "-c", "x y", "{{ feature }}"])), min_size=1, max_size=3)
)
_command = _mostly(_tampered(st.fixed_dictionaries({"argv": _argv}, optional={"timeout": _durations})))


def _exprs() -> st.SearchStrategy[Any]:
    good = st.sampled_from(["exit_code == 0", "'ok' in stdout", "true", "stdout | trim == 'a'", "n > 1"])
    return _mostly(good, st.sampled_from(["n >", "x.__class__", "", "a" * 600, "range(3)"]) | _scalars)


def _probe(expression_key: str) -> st.SearchStrategy[Any]:
    required = {"name": _names, "command": _command, expression_key: _exprs()}
    return _mostly(_tampered(st.fixed_dictionaries(required, optional={"window": st.one_of(st.none(), _durations)})))


_monitoring = _mostly(_tampered(st.fixed_dictionaries({"duration": _durations, "interval": _durations})))
_blocks = _tampered(
    st.fixed_dictionaries(
        {"smoke": _mostly(st.lists(_probe("expect"), min_size=1, max_size=3))},
        optional={
            "rollback_triggers": _mostly(st.lists(_probe("fire_when"), max_size=2)),
            "monitoring": st.one_of(st.none(), _monitoring),
        },
    )
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_blocks)
def test_whatever_the_light_path_accepts_the_models_accept_with_the_same_values(data: dict[str, Any]) -> None:
    fast = light.light_block(data)
    if fast is None:
        return
    try:
        slow = models(data)
    except Exception as exc:  # the light path accepted what the models refuse: a hole
        raise AssertionError(f"light accepted what the models refuse: {data!r}: {exc}") from None
    assert summary(fast) == summary(slow)


# -- the import cost it exists for -----------------------------------------------------------------
CHILD = r"""
import json, sys
from pathlib import Path
from devloop.after_deploy.checks.base import CheckContext
from devloop.after_deploy.checks.parse import parse_check_block
from devloop.after_deploy.checks.runner import run_checks

text, cache = sys.argv[1], Path(sys.argv[2])
block = parse_check_block(text, "plans/a/validation.md", cache)
results = run_checks(block.smoke, CheckContext(Path.cwd(), None, "a", "v1"))
heavy = ("pydantic", "pydantic_core", "yaml", "google", "rich", "matplotlib", "jinja2")
print(json.dumps({
    "lines": [r.line() for r in results],
    "imported": sorted({m.split(".")[0] for m in sys.modules} & set(heavy)),
}))
"""

COMMANDS_ONLY = """# Validation

```yaml devloop
smoke:
  - name: listed
    command: {argv: [sh, -c, 'echo "$DEVLOOP_FEATURE ready"']}
    expect: exit_code == 0 and stdout | trim == 'a ready'
  - name: refused
    command: {argv: ['false']}
    expect: exit_code == 1
```
"""


def test_command_only_checks_import_no_pydantic_and_with_a_warm_cache_no_yaml(tmp_path: Path) -> None:
    """The smoke path's parse and run, in a fresh interpreter: pydantic never; PyYAML only to fill the cache."""
    cache = tmp_path / "cache" / "a.json"

    def run() -> dict[str, Any]:
        argv = [sys.executable, "-c", CHILD, COMMANDS_ONLY, str(cache)]
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, env=_env())
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    cold = run()
    assert [line.split(" | actual")[0] for line in cold["lines"]] == [
        "PASS listed (command) exit_code == 0 and stdout | trim == 'a ready'",
        "PASS refused (command) exit_code == 1",
    ]
    assert cold["imported"] == ["jinja2", "yaml"]  # jinja2: the expressions run in its sandbox
    assert json.loads(cache.read_text())["data"]["smoke"][1]["command"] == {"argv": ["false"]}
    warm = run()
    assert [line.split(" | actual")[0] for line in warm["lines"]] == [
        line.split(" | actual")[0] for line in cold["lines"]
    ]
    assert warm["imported"] == ["jinja2"]


def test_the_cache_is_used_only_for_the_very_block_it_was_made_from(tmp_path: Path) -> None:
    cache = tmp_path / "a.json"
    first = parse_check_block(text_of({"smoke": [cmd("a")]}), cache=cache)
    assert first is not None and [c.name for c in first.smoke] == ["a"]
    second = parse_check_block(text_of({"smoke": [cmd("b")]}), cache=cache)
    assert second is not None and [c.name for c in second.smoke] == ["b"]
    cache.write_text("{not json")  # a damaged cache is ignored, then rewritten
    third = parse_check_block(text_of({"smoke": [cmd("c")]}), cache=cache)
    assert third is not None and [c.name for c in third.smoke] == ["c"]
    assert json.loads(cache.read_text())["data"]["smoke"][0]["name"] == "c"


def test_what_json_would_not_give_back_is_never_cached(tmp_path: Path) -> None:
    cache = tmp_path / "a.json"
    with pytest.raises(ConfigError):  # a date is not a string: the models refuse it
        parse_check_block("```yaml devloop\nsmoke:\n  - name: 2024-01-01\n```\n", cache=cache)
    assert not cache.exists()
    broken = "x\n\n```yaml devloop\nsmoke: [\n```\n"
    with pytest.raises(ConfigError) as uncached:
        parse_check_block(broken)
    with pytest.raises(ConfigError) as cached:  # YAML errors are worded as before, with the file's line
        parse_check_block(broken, cache=cache)
    assert str(cached.value) == str(uncached.value) and "validation.md line 5 (block at line 3)" in str(cached.value)
    assert not cache.exists()


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVLOOP_")}
    env["PYTHONPATH"] = str(REPO)
    return env
