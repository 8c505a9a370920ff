"""Costs for people: a fraction of a cent never reads as free, unknown stays unknown."""

from __future__ import annotations

import pytest

from devloop.provenance.costs import Total, totals, usd


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (None, "unknown"),
        (0, "$0"),
        (0.0, "$0"),
        (0.00005, "$0.000050"),  # issue 27: was $0.0000
        (0.0012, "$0.0012"),
        (0.00123, "$0.0012"),  # two significant digits
        (0.0099, "$0.0099"),
        (0.000042, "$0.000042"),
        (0.0000001234, "$0.00000012"),
        (0.00999, "$0.0100"),  # rounds up to a cent
        (0.01, "$0.0100"),  # a cent and more: the format devloop always had
        (0.025, "$0.0250"),
        (0.0375, "$0.0375"),
        (12.5, "$12.5000"),
    ],
)
def test_usd(amount: float | None, text: str) -> None:
    assert usd(amount) == text


def test_a_small_cost_never_prints_as_zero() -> None:
    for exponent in range(3, 13):
        for mantissa in (1, 2.5, 9.99):
            amount = mantissa * 10**-exponent
            text = usd(amount)
            assert any(c in "123456789" for c in text), (amount, text)
            assert float(text.lstrip("$")) == pytest.approx(amount, rel=0.05)


def _entry(cost: float | None, **kw: object) -> dict[str, object]:
    return {"status": "answered", "duration_s": 1.0, "tokens_in": 10, "tokens_out": 2, "cost_usd": cost, **kw}


def test_totals_text_keeps_small_and_unknown_costs_apart() -> None:
    t = Total()
    t.add(_entry(0.00002))
    t.add(_entry(0.00003))
    assert t.cost_text() == "$0.000050"
    t.add(_entry(None))
    assert t.cost_text() == "$0.000050 + 1 unknown"
    only_unknown = Total()
    only_unknown.add(_entry(None))
    assert only_unknown.cost_text() == "unknown"
    free = Total()
    free.add(_entry(0.0))  # a server that says the call was free
    assert free.cost_text() == "$0"


def test_json_totals_keep_a_tiny_cost() -> None:
    """`devloop cost --json` rounded to 6 decimals: a 1e-7 call would have been 0.0 there."""
    groups = totals([_entry(1.2e-7, step="plan"), _entry(None, step="plan_review")], "step")
    assert groups["plan"].as_dict()["cost_usd"] == pytest.approx(1.2e-7)
    assert groups["plan_review"].as_dict()["cost_usd"] is None
    summed = totals([_entry(0.1, step="s"), _entry(0.2, step="s")], "step")["s"].as_dict()["cost_usd"]
    assert summed == 0.3  # no float noise (0.30000000000000004)
