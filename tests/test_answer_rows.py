"""Every reason and outcome of the answer grammar, exactly (issue 25: what a mutation run found untested).

Each row of tests/data/answer_rows.json is the parser, its argument (the
verifier's number of claims), an answer, and the whole of what the parser
reads from it: verdict, reason word for word, findings, claims, scores,
files. A reason is what the agent is asked again with, so its words are
behaviour; each row was read and checked by hand when it was added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devloop.judging.answers import (
    parse_code_review,
    parse_evaluation,
    parse_file_blocks,
    parse_plan_review,
    parse_verifier,
)

ROWS = json.loads((Path(__file__).parent / "data" / "answer_rows.json").read_text(encoding="utf-8"))


def read(kind: str, arg: Any, text: str) -> dict[str, Any]:
    if kind == "code":
        return parse_code_review(text).as_dict()
    if kind == "plan":
        return parse_plan_review(text).as_dict()
    if kind == "verifier":
        return parse_verifier(text, arg).as_dict()
    if kind == "eval":
        return parse_evaluation(text).as_dict()
    try:
        return {"files": parse_file_blocks(text)}
    except ValueError as exc:
        return {"error": str(exc)}


@pytest.mark.parametrize(("kind", "arg", "text", "expected"), ROWS, ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)])
def test_the_grammar_reads_exactly_this(kind: str, arg: Any, text: str, expected: dict[str, Any]) -> None:
    assert read(kind, arg, text) == expected
