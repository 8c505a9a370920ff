"""The lock's JSON text: what ``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`` writes, faster.

Python's json module encodes in C only without ``indent``; with it, every
value goes through a chain of generators (0.8 ms for a 17 KB lock on the
bench machine, written two or three times a step). Here the same text is
built by one recursive function over the plain JSON types, with the same
string escaping (json's own ``encode_basestring``) and number formats.
Anything else (a key that is not a string, a type json would convert or
refuse, a cycle) is handed to ``json.dumps`` itself, so the text is always
json's; tests/test_jsontext.py checks it against json on random values.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any


class _NotPlain(Exception):
    """A value this module leaves to json."""


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)``, the same text."""
    out: list[str] = []
    try:
        _encode(value, "\n", out)
    except (_NotPlain, RecursionError):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return "".join(out)


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _encode(value: Any, newline: str, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for key, item in sorted(value.items()):
            if not isinstance(key, str):
                raise _NotPlain
            out.append(sep)
            out.append(encode_basestring(key))
            out.append(": ")
            _encode(item, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _encode(item, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    else:
        raise _NotPlain
