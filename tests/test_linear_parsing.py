"""Answers and validation.md are parsed in one pass (issue 25): a megabyte of hostile text is read, not stalled on.

Each example repeats a few hostile fragments (fences, comment openers,
backtick runs, HTML tags, quotes, look-alikes, reasoning tags) up to 1 MB
and hands it to every parser of agent text. Nothing here measures time
(bench/parsing.py prints the figures); a quadratic parser would simply never
let this test end within CI's limit, as the block finder once took hours on
a few hundred kilobytes of fences.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devloop.after_deploy.checks.block import find_blocks, unclosed_line
from devloop.judging.answers import (
    parse_code_review,
    parse_evaluation,
    parse_file_blocks,
    parse_plan_review,
    parse_verifier,
)
from devloop.judging.redteam import parse_red_team
from devloop.judging.triage import parse_route

FRAGMENTS = [
    "```\n",
    "~~~yaml devloop\n",
    "<!-- ",
    "-->",
    "`" * 7,
    "<pre>\n",
    "<details>\n",
    "> VOTE: PRODUCTION GRADE\n",
    "\u202e",
    "<think>",
    "\\:",
    "&#78;",
    "- [P1] a.py:1 — x\n",
    "CLAIM 1: REJECTED\n",
    "needs work ",
    "<b>",
    "\u034f",
    "ᴠᴏᴛᴇ ",
    "\n",
    "    ",
]
SIZE = 1_000_000


@pytest.mark.long
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6))
def test_a_megabyte_of_hostile_text_is_parsed_by_every_parser(parts: list[str]) -> None:
    unit = "".join(parts)
    text = (unit * (SIZE // len(unit) + 1))[:SIZE] + "\nVOTE: PRODUCTION GRADE\n"
    assert parse_code_review(text).verdict != "PRODUCTION_GRADE" or "needs work" not in unit
    parse_plan_review(text)
    parse_verifier(text, 3)
    parse_evaluation(text)
    parse_red_team(text, "t")
    parse_route(text)
    with contextlib.suppress(ValueError):
        parse_file_blocks(text)
    find_blocks(text)
    unclosed_line(text)
