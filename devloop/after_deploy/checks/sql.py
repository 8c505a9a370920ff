"""A check's BigQuery query is proven one read by a parser of BigQuery's SQL, or it is never sent.

A first word and a search for ``;`` let through what hides inside a query:
``WITH d AS (DELETE ... RETURNING *) SELECT ...``, or a second statement
after a comment that one reader ends at ``\\r`` and another does not. So
the query is parsed with sqlglot's ``bigquery`` dialect, and it is one read
only when all of this holds:

- it holds no line break but ``\\n`` (``\\r``, U+2028... are where readers of
  SQL disagree on where a comment ends);
- the parser reads all of it, as exactly one statement;
- that statement is a query (``SELECT``, a set operation, a parenthesised
  query), and every common table expression is a query too;
- no node anywhere in its tree is a statement that writes or runs anything:
  DML (insert, update, delete, merge, ``RETURNING``), DDL, ``EXPORT``,
  ``SELECT ... INTO``, scripting (``DECLARE``, ``SET``, blocks),
  transactions, grants, or a statement the parser could only keep as an
  opaque command (``CALL``, ``EXECUTE IMMEDIATE``...).

This runs when validation.md is read (the plan step fails on it, a hand edit
included) and again before anything is sent; BigQuery's dry run, whose
statement type must be SELECT, stays the last layer.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

_BREAKS = re.compile("[\r\x0b\x0c\x85\u2028\u2029]")
# Statement kinds that write, run or change anything, by sqlglot's expression classes.
_WRITES = (
    "DML DDL Insert Update Delete Merge Copy LoadData Returning Into Create Drop Alter TruncateTable Export "
    "Command Execute Declare DeclareItem Set SetItem IfBlock WhileBlock EndStatement Transaction Commit Rollback "
    "Grant Revoke Kill Pragma Analyze Cache Uncache Refresh Comment Use Lock Attach Detach Install"
).split()


def not_one_read(sql: str) -> str | None:
    """Why ``sql`` is not proven one read-only query, or None when it may be sent (see the module docstring)."""
    text = sql.replace("\r\n", "\n")
    if odd := _BREAKS.search(text):
        return (
            f"it holds a line break other than \\n (U+{ord(odd.group()):04X}), where readers of SQL disagree on "
            "where a comment ends; write each line break as \\n"
        )
    return _verdict(text)


@lru_cache(maxsize=256)
def _verdict(sql: str) -> str | None:
    import sqlglot
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its fall-backs are refusals here, not warnings
    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        return f"BigQuery's grammar does not read it ({_first_line(exc)}); a check runs one query"
    if len(statements) != 1:
        return f"it holds {len(statements)} statements (a script); a check runs one query"
    root = statements[0]
    if not isinstance(root, exp.Query):
        return f"it is {_kind(root)}, not a query; a check runs one query (SELECT ...) and never changes data"
    writes = tuple(getattr(exp, name) for name in _WRITES if hasattr(exp, name))
    for node in root.walk():
        if isinstance(node, writes):
            return f"it holds {_kind(node)} inside the query; a check only reads"
        if isinstance(node, exp.CTE) and not isinstance(node.this, exp.Query):
            return f"its WITH clause {node.alias or ''} holds {_kind(node.this)}, not a query; a check only reads"
    return None


def _kind(node: Any) -> str:
    name = type(node).__name__
    return "an opaque statement (" + str(node.this)[:40] + ")" if name == "Command" else f"a {name.upper()} statement"


def _first_line(exc: Exception) -> str:
    """The parser's first complaint, short: its words, where, and no token internals."""
    errors = getattr(exc, "errors", None) or []
    if errors and isinstance(errors[0], dict) and errors[0].get("description"):
        first = errors[0]
        text = f"{first['description']} at line {first.get('line')}, column {first.get('col')}"
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"<Token token_type: [^,]*, text: ([^,]*),[^>]*>", r"\1", re.sub(r"\x1b\[[0-9;]*m", "", text))
    return text[:160]
