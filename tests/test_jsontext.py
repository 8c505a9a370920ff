"""The lock's JSON text is json's own: devloop.provenance.jsontext against json.dumps."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from devloop.provenance import jsontext

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["", "\u2028", "\x00\x1f\x7f", '"\\/', "é\U0001f600", "\ud800"])
)
_KEYS = st.text() | st.sampled_from(["", "a", "B", "\u00e9", "10", "2"])
_ODD_KEYS = st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.lists(inner, max_size=3).map(tuple) | st.dictionaries(_KEYS, inner, max_size=5)
    ),
    max_leaves=40,
)


def _json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_the_text_is_json_s_for_any_plain_value(value: object) -> None:
    assert jsontext.dumps(value) == _json(value)


@given(st.dictionaries(_ODD_KEYS, st.integers(), max_size=4))
def test_keys_that_are_not_strings_are_left_to_json(value: dict[object, int]) -> None:
    """json turns them into strings (and refuses mixed types when sorting): whatever it does is what is done."""
    try:
        expected = _json(value)
    except TypeError:
        return
    assert jsontext.dumps(value) == expected


def test_other_types_and_cycles_are_json_s_too() -> None:
    loop: list[object] = []
    loop.append(loop)
    for bad in (loop, {"a": {1, 2}}, {"a": object()}):
        try:
            _json(bad)
        except (TypeError, ValueError) as exc:
            expected = type(exc)
        else:
            raise AssertionError("json took it")
        try:
            jsontext.dumps(bad)
        except expected:
            continue
        raise AssertionError(f"{bad!r} was written")


def test_subclasses_and_special_numbers() -> None:
    class Text(str):
        pass

    class Count(int):
        pass

    value = {"t": Text("x"), "n": Count(3), "f": [math.nan, math.inf, -math.inf, 1e16, -0.0, 5e-324], "b": [True, 0]}
    assert jsontext.dumps(value) == _json(value)
