"""Query parameters and the bytes guard, as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from devloop.after_deploy.checks.params import (
    bytes_cap,
    infer_array,
    infer_type,
    over_cap,
    param_mismatch,
    sql_param_names,
)


def test_parameters_are_found_outside_strings_identifiers_and_comments() -> None:
    sql = """
        SELECT '@a', "@b", '''@c''', `proj.d@t`, @@project_id -- @d
        # @e
        /* @f */
        FROM t WHERE x = @x AND y IN UNNEST(@ys) AND s = 'it\\'s @g' AND z=@z_1
    """
    assert sql_param_names(sql) == {"x", "ys", "z_1"}


def test_mismatches_are_described_both_ways() -> None:
    assert param_mismatch("SELECT @a, @b", {"a", "b"}) is None
    assert param_mismatch("SELECT @a", set()) == "the query uses @a but params does not declare it"
    assert param_mismatch("SELECT 1", {"a"}) == "params declares a but the query never uses it as @name"


@pytest.mark.parametrize(
    ("value", "kind", "converted"),
    [
        (True, "BOOL", True),
        (5, "INT64", 5),
        (2.5, "FLOAT64", 2.5),
        ("2024-05-01", "DATE", date(2024, 5, 1)),
        ("2024-05-01T10:00:00Z", "TIMESTAMP", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:00", "TIMESTAMP", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-13-45", "STRING", "2024-13-45"),
        ("search", "STRING", "search"),
        ("'; DROP TABLE t; --", "STRING", "'; DROP TABLE t; --"),
    ],
)
def test_types_are_inferred_from_values(value: object, kind: str, converted: object) -> None:
    assert infer_type(value) == (kind, converted)  # type: ignore[arg-type]


def test_list_parameters_share_one_type() -> None:
    assert infer_array(["a", "b"]) == ("STRING", ["a", "b"])
    assert infer_array([1, 2.5]) == ("FLOAT64", [1.0, 2.5])
    with pytest.raises(ValueError, match="share one type"):
        infer_array([1, "a"])
    with pytest.raises(ValueError, match="empty list"):
        infer_array([])


def test_the_cap_is_the_checks_own_never_above_the_workspaces() -> None:
    assert bytes_cap(None, 1_000_000_000) == 1_000_000_000
    assert bytes_cap(100, 1_000_000_000) == 100
    assert bytes_cap(5_000_000_000, 1_000_000_000) == 1_000_000_000


def test_an_estimate_over_the_cap_forbids_the_query() -> None:
    assert over_cap(None, 100) is None
    assert over_cap(100, 100) is None
    assert over_cap(101, 100) == "the dry run estimates 101 bytes, over the cap of 100 bytes; the query was not run"
