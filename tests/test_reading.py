"""A pass is the only verdict a person can read in the answer (issue 25): rendered, folded, reasoning set aside."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devloop.judging.answers import UNPARSEABLE, parse_code_review, parse_evaluation, parse_plan_review, parse_verifier
from devloop.judging.redteam import parse_red_team

PASS = "VOTE: PRODUCTION GRADE"

# Each of these, beside the pass line, counted as a pass before.
CONTRARY = [
    "Final verdict: NEEDS WORK",
    "My vote is: NEEDS WORK",
    "My vote — NEEDS WORK",
    "Vote (final): NEEDS WORK",
    "vote -> NEEDS WORK",
    "VOTE\\: NEEDS WORK",
    "V\u034fOTE: NEEDS WORK",
    "VOTE: ɴᴇᴇᴅs ᴡᴏʀᴋ",
    "\u202eKROW SDEEN :ETOV",
    "# NEEDS WORK",
    "<b>NEE</b>DS W&#79;RK",
    "NE**EDS** WO*RK*",
    "n&#x65;eds work",
    "N E E D S   W O R K",
    "𝐍𝐄𝐄𝐃𝐒 𝐖𝐎𝐑𝐊",
    "Nееds wоrk",
    "needs\u00adwork",
    "the rest needs\nwork",
    "| verdict | needs work |",
    "[needs work](https://example.com)",
    "- [P3] a.py:1 — it needs work",
]


@pytest.mark.parametrize("contrary", CONTRARY)
@pytest.mark.parametrize("where", ["after", "before"])
def test_a_contrary_value_anywhere_is_never_a_pass(contrary: str, where: str) -> None:
    answer = f"{PASS}\n\n{contrary}\n" if where == "after" else f"{contrary}\n\n{PASS}\n"
    assert parse_code_review(answer).verdict != "PRODUCTION_GRADE"


@pytest.mark.parametrize(
    "wrapper",
    [
        "<pre>\n{}\n</pre>\n",
        "<details>\n{}\n</details>\n",
        "<script>\n{}\n</script>\n",
        "<div>\n{}\n</div>\n",
        "<pre>{}</pre>\n",
    ],
)
def test_a_vote_inside_an_html_block_is_not_a_vote(wrapper: str) -> None:
    parsed = parse_code_review(wrapper.format(PASS))
    assert parsed.verdict == UNPARSEABLE and "HTML" in parsed.reason


def test_a_comment_opened_beside_a_code_span_hides_the_vote() -> None:
    """The mutation survivor of the issue: the comment's opener sits next to a code span."""
    answer = "<!-- reviewer said `x`\nVOTE: PRODUCTION GRADE\n-->\n"
    assert parse_code_review(answer).verdict == UNPARSEABLE


def test_a_contradicted_pass_names_the_line() -> None:
    parsed = parse_code_review(f"{PASS}\nThe docs still need polish.\nSo: NEEDS WORK, really.\n")
    assert parsed.verdict == UNPARSEABLE and "'NEEDS WORK' can be read at line 3" in parsed.reason


def test_a_needs_work_stays_needs_work_beside_anything() -> None:
    assert parse_code_review("> VOTE: PRODUCTION GRADE\n\nVOTE: NEEDS WORK\nI vote PRODUCTION GRADE\n").ok
    assert parse_code_review("VOTE: NEEDS WORK\n<pre>VOTE: PRODUCTION GRADE</pre>\n").verdict == "NEEDS_WORK"


# -- the other grammars ---------------------------------------------------------------------


@pytest.mark.parametrize("contrary", ["No need to REVISE it.", "re\u200bvise", "&#82;EVISE", "ʀᴇᴠɪsᴇ"])
def test_an_approval_beside_revise_is_not_an_approval(contrary: str) -> None:
    assert parse_plan_review(f"VERDICT: APPROVE\n{contrary}\n").verdict == UNPARSEABLE
    assert parse_plan_review("VERDICT: APPROVE\nThe revised plan holds.\n").verdict == "APPROVE"


@pytest.mark.parametrize("contrary", ["- [must-fix] x — y", "must\u200bfix", "<!-- SHOULD FIX: the retry -->"])
def test_no_findings_beside_a_graded_finding_is_unparseable(contrary: str) -> None:
    findings, reason = parse_red_team(f"NO FINDINGS\n\n```\n{contrary}\n```\n", "t")
    assert findings is None and reason


def test_claim_zero_and_out_of_range_claims_are_never_verdicts() -> None:
    parsed = parse_verifier("CLAIM 0: REJECTED — no\nCLAIM 1: CONFIRMED\n", 1)
    assert parsed.extra["verdicts"] == {"1": {"verdict": "CONFIRMED", "reason": ""}}
    assert parse_verifier("CLAIM 0: REJECTED\n", 1).verdict == UNPARSEABLE


def test_a_rejection_contradicted_in_a_rendered_mention_keeps_the_claim_blocking() -> None:
    parsed = parse_verifier("CLAIM 1: REJECTED — fine\n<b>Claim 1</b>: confirmed after all\n", 1)
    assert "1" not in parsed.extra.get("verdicts", {})


def test_an_evaluation_score_of_one_needs_its_finding() -> None:
    block = "scores: {plan_quality: 1, review_usefulness: 4, implementation_drift: 4, trigger_correctness: 4}\n"
    assert parse_evaluation(f"```yaml\n{block}```\n").verdict == UNPARSEABLE
    finding = "findings:\n  - {dimension: plan_quality, evidence: plan.md:1, impact: x, suggestion: y}\n"
    assert parse_evaluation(f"```yaml\n{block}{finding}```\n").extra["scores"]["plan_quality"] == 1


# -- reasoning models ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["think", "thinking", "THINK"])
def test_a_leading_reasoning_block_is_set_aside(tag: str) -> None:
    reasoning = f"<{tag}>\nThe vote: NEEDS WORK? No. I will vote PRODUCTION GRADE.\n```\nx\n</{tag}>\n"
    parsed = parse_code_review(f"{reasoning}\nLooks good.\n{PASS}\n")
    assert parsed.verdict == "PRODUCTION_GRADE", parsed.reason


def test_an_unclosed_reasoning_block_is_unparseable() -> None:
    parsed = parse_code_review(f"<think>\nhmm, maybe {PASS}\n")
    assert parsed.verdict == UNPARSEABLE and "not closed" in parsed.reason
    assert parse_code_review("<think>only thoughts</think>\n").verdict == UNPARSEABLE


def test_reasoning_in_the_middle_is_read_like_any_text() -> None:
    assert parse_code_review(f"{PASS}\n<think>actually NEEDS WORK</think>\n").verdict == UNPARSEABLE


# -- properties ---------------------------------------------------------------------------------

KEYS = st.sampled_from(["VOTE", "vote", "Final verdict", "My vote is", "Vote (final)", "verdict", "", "# ", "> "])
SEPARATORS = st.sampled_from([": ", " — ", " -> ", " = ", ":", " ", "\\: ", " is "])
TRICKS = st.sampled_from(
    [
        lambda w: w,
        str.lower,
        str.title,
        lambda w: w.replace(" ", "_"),
        lambda w: w.replace(" ", ""),
        lambda w: w.replace(" ", "-"),
        lambda w: "\u200b".join(w),
        lambda w: "\u034f".join(w),
        lambda w: w.replace("E", "Е").replace("O", "О"),
        lambda w: "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in w),
        lambda w: "\u202e" + w[::-1],
        lambda w: "".join(f"&#{ord(c)};" for c in w),
        lambda w: w[:3] + "</b><b>" + w[3:],
        lambda w: w[:2] + "**" + w[2:] + "**",
        lambda w: "\\".join(w),
        lambda w: " ".join(w),
    ]
)
CONTEXTS = st.sampled_from(
    [
        "{}",
        "```\n{}\n```",
        "<!-- {} -->",
        "> {}",
        "<pre>{}</pre>",
        "<details>\n{}\n</details>",
        "<script>{}</script>",
        "    {}",
        "- {}",
        "| a | {} |",
        "[{}](http://x)",
    ]
)


@settings(max_examples=400, deadline=None)
@given(KEYS, SEPARATORS, TRICKS, CONTEXTS, st.booleans())
def test_no_answer_with_needs_work_anywhere_passes(key, sep, trick, context, first) -> None:  # type: ignore[no-untyped-def]
    contrary = context.format(f"{key}{sep}{trick('NEEDS WORK')}")
    answer = f"{contrary}\n\n{PASS}\n" if first else f"{PASS}\n\n{contrary}\n"
    assert parse_code_review(answer).verdict != "PRODUCTION_GRADE", answer


REASONING_TEXT = st.text(st.characters(blacklist_characters="<>"), max_size=200)


@settings(max_examples=300, deadline=None)
@given(REASONING_TEXT, st.sampled_from(["think", "thinking"]), st.sampled_from([PASS, "VOTE: NEEDS WORK"]))
def test_a_clean_answer_after_any_reasoning_parses_to_its_vote(thoughts: str, tag: str, vote: str) -> None:
    answer = f"<{tag}>{thoughts}</{tag}>\n\nReviewed every file.\n{vote}\n"
    assert parse_code_review(answer).verdict == ("PRODUCTION_GRADE" if vote == PASS else "NEEDS_WORK")
