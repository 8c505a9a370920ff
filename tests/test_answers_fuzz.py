"""Hypothesis fuzzing of every answer parser: never crash, never pass unless the contract is met."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from devloop.judging.answers import (
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


def _only_vote_line(text: str) -> str | None:
    """The one line where "vote" is followed by ``:`` or ``=``, when there is exactly one, else None."""
    pattern = re.compile(r"\bvote[\s*_`\"']*[:=]", re.I | re.A)
    lines = [line.removesuffix("\r") for line in text.split("\n") if pattern.search(line)]
    return lines[0] if len(lines) == 1 else None


@settings(max_examples=400, deadline=None)
@given(ANSWERS)
def test_code_review_never_crashes_and_passes_only_on_one_clear_vote(text: str) -> None:
    parsed = parse_code_review(text)
    assert parsed.verdict in ("PRODUCTION_GRADE", "NEEDS_WORK", UNPARSEABLE)
    if parsed.verdict == "NEEDS_WORK":  # a blocking vote blocks beside stray mentions: it needs its own line
        assert re.search(r"(?im)^[*_`]*vote[*_`]*\s*:[*_`\s]*needs[ _]+work", text)
    if parsed.verdict == "PRODUCTION_GRADE":
        line = _only_vote_line(text)
        assert line is not None and not line[:1].isspace()
        assert re.sub(r"[*`_\s.]+", "", line).upper() == "VOTE:" + parsed.verdict.replace("_", "")


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
        for n, v in parsed.extra["verdicts"].items():
            mentions = re.findall(rf"(?im)^.*\bclaim\s*#?\s*0*{n}\b.*\b(?:confirmed|rejected)\b", text)
            assert len(mentions) == 1 and v["verdict"] in mentions[0].upper()


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
