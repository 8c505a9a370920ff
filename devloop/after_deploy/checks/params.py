"""BigQuery query parameters and the bytes guard, as pure functions (no client needed).

Values only ever reach BigQuery as typed query parameters, never formatted
into SQL. The type is inferred from the value, so validation.md stays plain
YAML: ``{day: "{{ today }}"}`` becomes a DATE, ``{n: 5}`` an INT64.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

Scalar = str | int | float | bool


def sql_code(sql: str) -> str:
    """The query with strings, quoted identifiers and comments blanked out: what is left is SQL itself.

    Blanked parts become one space (identifiers become ``x``), so words on
    either side never join and nothing inside a literal looks like code.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            quote = c * 3 if c != "`" and sql.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not sql.startswith(quote, j):
                j += 2 if sql[j] == "\\" else 1
            out.append(" x " if c == "`" else " ")
            i = j + len(quote)
        elif sql.startswith("--", i) or c == "#":
            end = sql.find("\n", i)
            out.append(" ")
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            out.append(" ")
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


_SYSTEM_VARIABLE = re.compile(r"@@[A-Za-z_][A-Za-z0-9_.]*")
_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def sql_param_names(sql: str) -> set[str]:
    """The ``@name`` parameters a query uses, outside strings, quoted identifiers and comments."""
    code = _SYSTEM_VARIABLE.sub(" ", sql_code(sql))  # @@project_id and friends are not parameters
    return set(_PARAM.findall(code))


def param_mismatch(sql: str, declared: set[str]) -> str | None:
    """Why the query's ``@names`` and the declared params disagree, or None when they match."""
    used = sql_param_names(sql)
    problems = []
    if missing := sorted(used - declared):
        problems.append(f"the query uses {', '.join('@' + m for m in missing)} but params does not declare it")
    if unused := sorted(declared - used):
        problems.append(f"params declares {', '.join(unused)} but the query never uses it as @name")
    return "; ".join(problems) or None


def infer_type(value: Scalar) -> tuple[str, Any]:
    """(BigQuery type, value converted for the client): bool, int, float, DATE, TIMESTAMP, else STRING."""
    if isinstance(value, bool):
        return "BOOL", value
    if isinstance(value, int):
        return "INT64", value
    if isinstance(value, float):
        return "FLOAT64", value
    text = str(value)
    if _DATE.match(text):
        try:
            return "DATE", date.fromisoformat(text)
        except ValueError:
            return "STRING", text
    if _DATETIME.match(text):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return "STRING", text
        return "TIMESTAMP", moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return "STRING", text


def infer_array(values: list[Scalar]) -> tuple[str, list[Any]]:
    """One element type for a list parameter; ValueError when empty or mixed."""
    if not values:
        raise ValueError("an empty list has no type; give at least one value")
    typed = [infer_type(v) for v in values]
    kinds = {t for t, _ in typed}
    if kinds == {"INT64", "FLOAT64"}:
        return "FLOAT64", [float(v) for _, v in typed]
    if len(kinds) > 1:
        raise ValueError(f"list values must share one type, found {', '.join(sorted(kinds))}")
    return kinds.pop(), [v for _, v in typed]


def bytes_cap(check_cap: int | None, config_cap: int) -> int:
    """The cap sent as maximum_bytes_billed: the check's own, never above the workspace's."""
    return config_cap if check_cap is None else min(check_cap, config_cap)


def over_cap(estimate: int | None, cap: int) -> str | None:
    """Why a dry-run estimate forbids running the query, or None when it fits (unknown fits)."""
    if estimate is not None and estimate > cap:
        return f"the dry run estimates {estimate:,} bytes, over the cap of {cap:,} bytes; the query was not run"
    return None
