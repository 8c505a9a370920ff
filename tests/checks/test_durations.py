"""Durations as written in validation.md."""

from __future__ import annotations

import pytest

from devloop.runtime.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1.5s", 1.5),
        ("250ms", 0.25),
        (30, 30),
        (2.5, 2.5),
        (" 5M ", 300),
        ("1h0m5s", 3605),
    ],
)
def test_durations_parse_to_seconds(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "10x", "m", "1m1h", "10 minutes", "-5s", True, "0s", 0, "8d"])
def test_bad_durations_say_how_to_write_one(text: object) -> None:
    with pytest.raises(ValueError, match=r"duration"):
        parse_duration(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"), [(30, "30s"), (600, "10m"), (5400, "1h30m"), (0.25, "250ms"), (1.5, "1.5s"), (86400, "1d")]
)
def test_format_duration_is_the_short_form(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
