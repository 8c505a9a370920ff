"""Hypothesis fuzzing of every answer parser: never crash, never pass unless the contract is met."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from devloop.answers import (
    UNPARSEABLE,
    parse_code_review,
    parse_evaluation,
    parse_plan_review,
    parse_verifier,
)

LINES = st.sampled_from(
    [
        "VOTE: PRODUCTION GRADE",
        "VOTE: NEEDS WORK",
        "> VOTE: PRODUCTION GRADE",
        "VERDICT: APPROVE",
        "VERDICT: REVISE",
        "```",
        "```json",
        '{"vote": "PRODUCTION GRADE"}',
        "- [P1] src/a.py:3 — bad",
        "CLAIM 1: CONFIRMED",
        "CLAIM 1: REJECTED — no",
        "```yaml",
        "scores: {plan_quality: 5}",
        "",
    ]
)
ANSWERS = st.one_of(st.text(max_size=400), st.lists(st.one_of(LINES, st.text(max_size=40)), max_size=12).map("\n".join))


def _visible_vote_lines(text: str) -> set[str]:
    """Vote lines outside fences and quotes, as a reader would see them."""
    votes, fence = set(), False
    for line in text.splitlines():
        if re.match(r"^\s*(```|~~~)", line):
            fence = not fence
            continue
        if fence or line.lstrip().startswith(">"):
            continue
        m = re.match(r"^\s*[*_`]*VOTE\s*:\s*(PRODUCTION[\s_]+GRADE|NEEDS[\s_]+WORK)", line, re.I)
        if m:
            votes.add(re.sub(r"[\s_]+", " ", m.group(1).upper()))
    return votes


@settings(max_examples=400, deadline=None)
@given(ANSWERS)
def test_code_review_never_crashes_and_passes_only_on_one_clear_vote(text: str) -> None:
    parsed = parse_code_review(text)
    assert parsed.verdict in ("PRODUCTION_GRADE", "NEEDS_WORK", UNPARSEABLE)
    if parsed.verdict == "PRODUCTION_GRADE" and "```json" not in text:
        assert _visible_vote_lines(text) == {"PRODUCTION GRADE"}


@settings(max_examples=300, deadline=None)
@given(ANSWERS)
def test_plan_review_never_crashes(text: str) -> None:
    parsed = parse_plan_review(text)
    assert parsed.verdict in ("APPROVE", "REVISE", UNPARSEABLE)
    if parsed.verdict == "APPROVE":
        assert "APPROVE" in text.upper()


@settings(max_examples=300, deadline=None)
@given(ANSWERS, st.integers(min_value=0, max_value=5))
def test_verifier_never_crashes_and_only_verdicts_in_range(text: str, claims: int) -> None:
    parsed = parse_verifier(text, claims)
    if parsed.ok:
        assert all(1 <= int(n) <= claims for n in parsed.extra["verdicts"])


@settings(max_examples=300, deadline=None)
@given(ANSWERS)
def test_evaluation_never_crashes(text: str) -> None:
    parsed = parse_evaluation(text)
    if parsed.ok:
        assert set(parsed.extra["scores"]) == {
            "plan_quality",
            "review_usefulness",
            "implementation_drift",
            "trigger_correctness",
        }


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decoded_leniently_never_pass(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    if "VOTE" not in text.upper() and "vote" not in text:
        assert parse_code_review(text).verdict == UNPARSEABLE
