"""Parsing validation.md's devloop block: every mistake is one ConfigError that says where and what."""

from __future__ import annotations

import pytest

from devloop.after_deploy.checks import CheckBlock, parse_check_block
from devloop.runtime.errors import ConfigError

GOOD = """# Validation for search

Checks a human reads first.

```yaml devloop
smoke:
  - name: partition_present
    bigquery:
      query: SELECT COUNT(*) AS n FROM `p.d.events` WHERE dt = @day
      params: {day: "{{ today }}"}
      max_bytes_billed: 100000000
    expect: n > 0
  - name: health
    http: {url: "https://svc.example/healthz"}
    expect: status == 200
rollback_triggers:
  - name: error_rate
    logging: {filter: 'severity>=ERROR AND resource.type="cloud_run_revision"'}
    window: 10m
    fire_when: count > 50
monitoring: {duration: 30m, interval: 1m}
```

More prose.
"""


def error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_check_block(text)
    return str(info.value)


def smoke(yaml_items: str) -> str:
    """A validation.md whose block (at line 3) holds ``smoke:`` with the given items."""
    return f"# V\n\n```yaml devloop\nsmoke:\n{yaml_items}```\n"


def test_the_design_example_parses_into_typed_models() -> None:
    parsed = parse_check_block(GOOD)
    assert isinstance(parsed, CheckBlock)
    bq, health = parsed.smoke
    assert (bq.kind, health.kind) == ("bigquery", "http")
    assert bq.spec.params == {"day": "{{ today }}"} and bq.spec.max_bytes_billed == 100_000_000
    assert health.spec.method == "GET" and health.spec.timeout == 30.0
    trigger = parsed.rollback_triggers[0]
    assert trigger.window == 600.0 and trigger.spec.page_size == 1000 and trigger.spec.max_entries == 10_000
    assert parsed.monitoring is not None and (parsed.monitoring.duration, parsed.monitoring.interval) == (1800, 60)
    assert bq.expr.truth({"n": 3}) is True and trigger.expr.truth({"count": 3}) is False


def test_no_block_is_none_and_other_yaml_blocks_are_ignored() -> None:
    assert parse_check_block("# V\n\n```yaml\nsmoke: [1]\n```\n") is None
    assert parse_check_block("") is None


def test_an_empty_block_is_an_empty_check_block() -> None:
    parsed = parse_check_block("```yaml devloop\n```\n")  # command-only, so the light model holds it
    assert parsed is not None and (parsed.smoke, parsed.rollback_triggers, parsed.monitoring) == ([], [], None)
    assert (CheckBlock().smoke, CheckBlock().rollback_triggers, CheckBlock().monitoring) == ([], [], None)


def test_two_blocks_are_refused_with_both_lines() -> None:
    text = GOOD + "\n```yaml devloop\nsmoke: []\n```\n"
    assert error(text) == "validation.md: found 2 ```yaml devloop blocks (lines 5, 26); keep exactly one"


def test_a_devloop_block_inside_another_fence_is_not_a_block() -> None:
    text = "~~~markdown\n```yaml devloop\nsmoke: nonsense\n```\n~~~\n"
    assert parse_check_block(text) is None


def test_an_unclosed_block_is_an_error_not_silence() -> None:
    assert error("# V\n\n```yaml devloop\nsmoke: []\n") == (
        "validation.md: the ```yaml devloop block at line 3 is never closed"
    )


def test_yaml_errors_give_the_line_in_validation_md() -> None:
    text = GOOD.replace("    window: 10m\n", "    window: [10m\n")
    message = error(text)
    assert message == (
        "validation.md line 20 (block at line 5): not valid YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 19)"
    )


def test_the_source_name_is_used_in_messages() -> None:
    with pytest.raises(ConfigError, match=r"^plans/search/validation.md \(block at line 5\): smoke.1.http.url"):
        parse_check_block(GOOD.replace("https://svc", "ftp://svc"), source="plans/search/validation.md")


def test_an_undeclared_query_parameter_names_the_field_and_check() -> None:
    text = GOOD.replace("params: {day:", "params: {dya:")
    assert error(text) == (
        "validation.md (block at line 5): smoke.0.bigquery.params (partition_present): the query uses @day but "
        "params does not declare it; params declares dya but the query never uses it as @name"
    )


def test_an_unused_parameter_is_an_error() -> None:
    message = error(GOOD.replace('params: {day: "{{ today }}"}', 'params: {day: "{{ today }}", extra: 1}'))
    assert "params declares extra but the query never uses it as @name" in message


def test_parameters_inside_strings_and_comments_do_not_count() -> None:
    item = (
        "  - name: q\n    bigquery:\n"
        "      query: |\n        SELECT '@skip' AS a, `t@x` AS b -- @gone\n        /* @also */ FROM t WHERE x = @x\n"
        "      params: {x: 1}\n    expect: a == '@skip'\n"
    )
    parsed = parse_check_block(smoke(item))
    assert parsed is not None and parsed.smoke[0].spec.params == {"x": 1}


def test_a_parameter_must_be_a_scalar_or_a_list_of_scalars() -> None:
    item = "  - name: q\n    bigquery: {query: SELECT @x AS a, params: {x: {nested: 1}}}\n    expect: a\n"
    assert "smoke.0.bigquery.params.x (q): {'nested': 1} is not a string, number, boolean" in error(smoke(item))


def test_a_list_parameter_must_have_one_type() -> None:
    item = "  - name: q\n    bigquery: {query: SELECT @x AS a, params: {x: [1, two]}}\n    expect: a\n"
    assert "x: list values must share one type, found INT64, STRING" in error(smoke(item))
    empty = "  - name: q\n    bigquery: {query: SELECT @x AS a, params: {x: []}}\n    expect: a\n"
    assert "an empty list has no type" in error(smoke(empty))


def test_a_logging_trigger_needs_a_window() -> None:
    assert error(GOOD.replace("    window: 10m\n", "")) == (
        "validation.md (block at line 5): rollback_triggers.0 (error_rate): "
        "a logging trigger needs a window (e.g. window: 10m)"
    )


def test_a_bad_duration_says_how_to_write_one() -> None:
    assert error(GOOD.replace("window: 10m", "window: 10 minutes")) == (
        "validation.md (block at line 5): rollback_triggers.0.window (error_rate): "
        "'10 minutes' is not a duration; write it like 30s, 10m, 1h or 1h30m"
    )


def test_an_interval_longer_than_the_duration_is_refused() -> None:
    assert "monitoring: interval must not be longer than duration" in error(
        GOOD.replace("interval: 1m", "interval: 2h")
    )


def test_an_expression_reaching_for_dunders_is_refused_at_parse_time() -> None:
    assert error(GOOD.replace("expect: n > 0", "expect: n.__class__ == 1")) == (
        "validation.md (block at line 5): smoke.0.expect (partition_present): "
        "'n.__class__ == 1' uses '__class__': names starting with '_' are not allowed"
    )


def test_an_expression_that_does_not_parse_is_refused() -> None:
    assert "smoke.1.expect (health): expression 'status ==' does not parse" in error(
        GOOD.replace("expect: status == 200", "expect: status ==")
    )


def test_a_filter_over_the_size_limit_is_refused() -> None:
    long_filter = "severity>=ERROR AND " + "x" * 20_000
    assert "rollback_triggers.0.logging.filter (error_rate): String should have at most 20000 characters" in error(
        GOOD.replace("'severity>=ERROR AND resource.type=\"cloud_run_revision\"'", long_filter)
    )


def test_an_unknown_kind_lists_the_known_ones() -> None:
    assert error(GOOD.replace("    http: {url", "    pubsub: {url")) == (
        "validation.md (block at line 5): smoke.1 (health): unknown key pubsub; "
        "kinds: bigquery, logging, http, command; other keys: name, window, expect"
    )


def test_two_kinds_in_one_check_are_refused() -> None:
    text = GOOD.replace("    http: {url", "    command: {argv: [./check.sh]}\n    http: {url")
    assert error(text) == (
        "validation.md (block at line 5): smoke.1 (health): "
        "give exactly one kind (bigquery, logging, http, command); found http and command"
    )


def test_no_kind_at_all_is_refused() -> None:
    assert "give exactly one kind (bigquery, logging, http, command); found none" in error(
        smoke("  - name: nothing\n    expect: exit_code == 0\n")
    )


def test_names_are_identifiers_and_unique_across_smoke_and_triggers() -> None:
    assert "the name 'health' is used twice" in error(GOOD.replace("name: error_rate", "name: health"))
    assert "smoke.1.name (health check): String should match pattern" in error(
        GOOD.replace("name: health", "name: health check")
    )


def test_several_problems_are_all_reported_in_one_error() -> None:
    text = GOOD.replace("window: 10m", "window: soon").replace("status == 200", "status ==")
    lines = error(text).splitlines()
    assert len(lines) == 2 and all(line.startswith("validation.md (block at line 5): ") for line in lines)


def test_templates_may_use_only_the_context_names() -> None:
    message = error(GOOD.replace("{{ today }}", "{{ tomorrow }}"))
    assert "template '{{ tomorrow }}' uses tomorrow; available: deploy_time, feature, now, today" in message
    message = error(GOOD.replace("https://svc.example/healthz", "https://svc.example/{{ ''.__class__ }}"))
    assert "names starting with '_' are not allowed" in message


def test_window_templates_need_a_window() -> None:
    item = (
        "  - name: q\n    bigquery: {query: SELECT @since AS a, params: {since: '{{ window_start }}'}}\n"
        "    expect: a != ''\n"
    )
    assert "window_start/window_end need a window" in error(smoke(item))
    parsed = parse_check_block(smoke(item.replace("    expect", "    window: 1h\n    expect")))
    assert parsed is not None and parsed.smoke[0].window == 3600


def test_http_and_command_settings_are_checked() -> None:
    assert "body is only sent with method: POST" in error(
        smoke("  - name: h\n    http: {url: 'http://x', body: hi}\n    expect: status == 200\n")
    )
    assert "smoke.0.http.method (h)" in error(
        smoke("  - name: h\n    http: {url: 'http://x', method: DELETE}\n    expect: status == 200\n")
    )
    assert "smoke.0.command.argv (c): List should have at least 1 item" in error(
        smoke("  - name: c\n    command: {argv: []}\n    expect: exit_code == 0\n")
    )
    parsed = parse_check_block(
        smoke("  - name: c\n    command: {argv: [./check.sh], timeout: 5}\n    expect: exit_code == 0\n")
    )
    assert parsed is not None and parsed.smoke[0].spec.timeout == 5.0


def test_logging_page_size_is_bounded() -> None:
    assert "rollback_triggers.0.logging.page_size (error_rate)" in error(
        GOOD.replace("logging: {filter:", "logging: {page_size: 5000, filter:")
    )


def test_a_rollback_command_in_validation_md_is_an_error() -> None:
    """validation.md is the planner's text; rollback commands come only from devloop.yaml."""
    msg = error(GOOD.replace("\n```\n\nMore prose", "\nrollback: {command: [./deploy/rollback.sh]}\n```\n\nMore prose"))
    assert "rollback: not allowed here" in msg and "deploy.rollback" in msg


def test_a_monitoring_interval_under_a_second_is_an_error() -> None:
    assert "interval must be at least 1s" in error(GOOD.replace("interval: 1m", "interval: 1ms"))
