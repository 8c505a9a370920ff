"""devloop.judging.answers: the fail-closed parsers of agents' machine-readable answers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devloop.judging.answers import (
    MAX_ANSWER_CHARS,
    UNPARSEABLE,
    Finding,
    parse_code_review,
    parse_evaluation,
    parse_file_blocks,
    parse_findings,
    parse_plan_review,
)

FENCE = "```"


# -- code review: VOTE lines -------------------------------------------------


def test_production_grade_vote_with_surrounding_prose() -> None:
    p = parse_code_review("I read every file.\n\nVOTE: PRODUCTION GRADE\n\nThanks.\n")
    assert p.verdict == "PRODUCTION_GRADE"
    assert p.ok
    assert p.findings == []


def test_needs_work_vote_with_findings() -> None:
    answer = (
        "Two problems.\n"
        "- [P0] src/app.py:42 — crashes on empty input\n"
        "- [P2] src/util.py:7 - naming\n"
        "VOTE: NEEDS WORK\n"
    )
    p = parse_code_review(answer)
    assert p.verdict == "NEEDS_WORK"
    assert p.findings == [
        Finding("P0", "src/app.py", 42, "crashes on empty input"),
        Finding("P2", "src/util.py", 7, "naming"),
    ]
    assert p.as_dict()["findings"][0] == {
        "severity": "P0",
        "file": "src/app.py",
        "line": 42,
        "text": "crashes on empty input",
    }


@pytest.mark.parametrize(
    "line",
    [
        "**VOTE: PRODUCTION GRADE**",
        "**VOTE:** PRODUCTION GRADE",
        "vote: production grade",
        "VOTE:   PRODUCTION   GRADE.",
        "`VOTE: PRODUCTION GRADE`",
    ],
)
def test_vote_line_tolerates_markdown_case_and_spacing(line: str) -> None:
    assert parse_code_review(f"Looks good.\n{line}\n").verdict == "PRODUCTION_GRADE"


def test_vote_line_with_underscore_spelling_is_accepted() -> None:
    assert parse_code_review("VOTE: PRODUCTION_GRADE\n").verdict == "PRODUCTION_GRADE"
    assert parse_code_review("VOTE: NEEDS_WORK\n").verdict == "NEEDS_WORK"


def test_empty_answer_is_unparseable() -> None:
    for text in ("", "   \n\t\n"):
        p = parse_code_review(text)
        assert p.verdict == UNPARSEABLE
        assert not p.ok
        assert "empty" in p.reason


def test_answer_without_vote_is_unparseable() -> None:
    p = parse_code_review("This looks production grade to me.\n")
    assert p.verdict == UNPARSEABLE
    assert "VOTE" in p.reason


def test_contradictory_votes_are_unparseable() -> None:
    p = parse_code_review("VOTE: PRODUCTION GRADE\nOn second thought:\nVOTE: NEEDS WORK\n")
    assert p.verdict == UNPARSEABLE
    assert "contradictory" in p.reason


def test_repeated_identical_vote_is_unparseable() -> None:
    p = parse_code_review("VOTE: NEEDS WORK\n...\nVOTE: NEEDS WORK\n")
    assert p.verdict == UNPARSEABLE
    assert "more than one vote line (lines 1, 3)" in p.reason


def test_vote_only_inside_a_quote_does_not_count() -> None:
    p = parse_code_review("The other reviewer said:\n> VOTE: PRODUCTION GRADE\nI have no opinion.\n")
    assert p.verdict == UNPARSEABLE
    assert "ambiguous" in p.reason and "line 2 (in a > quote)" in p.reason


def test_vote_only_inside_a_code_block_does_not_count() -> None:
    answer = f"The expected format is:\n{FENCE}text\nVOTE: PRODUCTION GRADE\n{FENCE}\nI did not decide.\n"
    assert parse_code_review(answer).verdict == UNPARSEABLE


def test_tilde_fenced_vote_does_not_count() -> None:
    assert parse_code_review("~~~\nVOTE: PRODUCTION GRADE\n~~~\n").verdict == UNPARSEABLE


def test_a_quoted_pass_beside_a_real_needs_work_blocks() -> None:
    answer = "> VOTE: PRODUCTION GRADE\n\nI disagree with the quote above.\nVOTE: NEEDS WORK\n"
    assert parse_code_review(answer).verdict == "NEEDS_WORK"


def test_a_quoted_needs_work_beside_a_real_pass_is_ambiguous() -> None:
    answer = "> VOTE: NEEDS WORK\n\nI disagree with the quote above.\nVOTE: PRODUCTION GRADE\n"
    p = parse_code_review(answer)
    assert p.verdict == UNPARSEABLE
    assert "ambiguous" in p.reason and "line 1" in p.reason


def test_a_vote_in_a_code_block_beside_the_real_vote_is_ambiguous() -> None:
    answer = f"{FENCE}\nVOTE: NEEDS WORK\n{FENCE}\nVOTE: PRODUCTION GRADE\n"
    p = parse_code_review(answer)
    assert p.verdict == UNPARSEABLE
    assert "line 2 (inside a code block)" in p.reason


def test_unclosed_fence_is_unparseable_even_with_a_vote_before_it() -> None:
    answer = f"VOTE: PRODUCTION GRADE\n{FENCE}python\ndef f():\n    return 1\n"
    p = parse_code_review(answer)
    assert p.verdict == UNPARSEABLE
    assert "not closed" in p.reason


def test_shorter_fence_does_not_close_a_longer_one() -> None:
    answer = "````\n```\nVOTE: PRODUCTION GRADE\n```\n````\n"
    assert parse_code_review(answer).verdict == UNPARSEABLE


def test_unknown_vote_word_is_unparseable() -> None:
    p = parse_code_review("VOTE: MOSTLY FINE\n")
    assert p.verdict == UNPARSEABLE
    assert "MOSTLY FINE" in p.reason


def test_unknown_vote_word_beside_a_valid_one_is_still_unparseable() -> None:
    assert parse_code_review("VOTE: PRODUCTION GRADE\nVOTE: MAYBE\n").verdict == UNPARSEABLE


def test_answer_longer_than_the_limit_is_unparseable() -> None:
    answer = "VOTE: PRODUCTION GRADE\n" + "x" * MAX_ANSWER_CHARS
    p = parse_code_review(answer)
    assert p.verdict == UNPARSEABLE
    assert str(MAX_ANSWER_CHARS) in p.reason


def test_answer_exactly_at_the_limit_is_parsed() -> None:
    head = "VOTE: NEEDS WORK\n"
    answer = head + "x" * (MAX_ANSWER_CHARS - len(head))
    assert len(answer) == MAX_ANSWER_CHARS
    assert parse_code_review(answer).verdict == "NEEDS_WORK"


# -- code review: a JSON vote is only a mention ------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        f'{FENCE}json\n{{"vote": "PRODUCTION GRADE", "findings": []}}\n{FENCE}\n',
        f'Here it is.\n{FENCE}json\n{{"vote": "needs_work"}}\n{FENCE}\n',
        f'{FENCE}json\n{{"vote": "NEEDS WORK"}}\n{FENCE}\nVOTE: PRODUCTION GRADE\n',
    ],
)
def test_a_json_vote_is_a_stray_mention_not_a_vote(answer: str) -> None:
    p = parse_code_review(answer)
    assert p.verdict == UNPARSEABLE
    assert "ambiguous" in p.reason and "line" in p.reason


# -- plan review -------------------------------------------------------------


def test_plan_review_verdicts() -> None:
    assert parse_plan_review("Fine.\nVERDICT: APPROVE\n").verdict == "APPROVE"
    revise = parse_plan_review("- [P1] plans/x/plan.md:3 — vague rollback\n**VERDICT: REVISE**\n")
    assert revise.verdict == "REVISE"
    assert revise.findings == [Finding("P1", "plans/x/plan.md", 3, "vague rollback")]


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "VERDICT: APPROVE\nVERDICT: REVISE\n",
        "> VERDICT: APPROVE\n",
        f"{FENCE}\nVERDICT: APPROVE\n{FENCE}\n",
        f"VERDICT: APPROVE\n{FENCE}\n",
        "VERDICT: ACCEPT\n",
        "VOTE: PRODUCTION GRADE\n",
        "I approve.\n",
    ],
)
def test_plan_review_fails_closed(answer: str) -> None:
    assert parse_plan_review(answer).verdict == UNPARSEABLE


def test_plan_review_longer_than_the_limit_is_unparseable() -> None:
    assert parse_plan_review("VERDICT: APPROVE\n" + "y" * MAX_ANSWER_CHARS).verdict == UNPARSEABLE


def test_plan_review_ignores_a_json_block() -> None:
    assert parse_plan_review(f'{FENCE}json\n{{"verdict": "APPROVE"}}\n{FENCE}\n').verdict == UNPARSEABLE


# -- findings ----------------------------------------------------------------


def test_parse_findings_separators() -> None:
    lines = [
        "- [P0] a.py:1 — em dash",
        "- [P1] b.py:2 – en dash",
        "- [P2] c.py:3 - plain dash",
        "* [P3] d.py:4: colon",
        "  - [P1] e/f.py:50 no separator",
        "- [P1] g.py:6 -- double dash",
    ]
    assert parse_findings(lines) == [
        Finding("P0", "a.py", 1, "em dash"),
        Finding("P1", "b.py", 2, "en dash"),
        Finding("P2", "c.py", 3, "plain dash"),
        Finding("P3", "d.py", 4, "colon"),
        Finding("P1", "e/f.py", 50, "no separator"),
        Finding("P1", "g.py", 6, "double dash"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "- [P4] a.py:1 — no such severity",
        "- [P1] a.py — no line",
        "- [P1] a.py:x — line not a number",
        "[P1] a.py:1 — not a list item",
        "- P1 a.py:1 — no brackets",
        "VOTE: NEEDS WORK",
    ],
)
def test_parse_findings_ignores_malformed_lines(line: str) -> None:
    assert parse_findings([line]) == []


def test_a_lowercase_severity_is_read_as_the_severity_never_skipped() -> None:
    assert parse_findings(["- [p1] a.py:1 — lowercase severity"]) == [Finding("P1", "a.py", 1, "lowercase severity")]


@pytest.mark.parametrize("tag", ["P4", "P9", "CRITICAL", "high", "P1 "])
def test_a_finding_with_an_unknown_severity_makes_the_answer_unparseable(tag: str) -> None:
    r = parse_code_review(f"- [{tag}] a.py:1 — something\nVOTE: PRODUCTION GRADE\n")
    assert r.verdict == UNPARSEABLE and "severity must be P0, P1, P2 or P3" in r.reason


def test_checklist_boxes_are_not_findings() -> None:
    r = parse_code_review("- [x] a.py:1 read\n- [ ] b.py:2 read\nVOTE: PRODUCTION GRADE\n")
    assert r.verdict == "PRODUCTION_GRADE" and r.findings == []


def test_findings_in_quotes_and_code_blocks_are_not_collected() -> None:
    answer = (
        f"> - [P0] quoted.py:1 — q\n{FENCE}\n- [P0] fenced.py:2 — f\n{FENCE}\n- [P1] real.py:3 — r\nVOTE: NEEDS WORK\n"
    )
    assert [f.file for f in parse_code_review(answer).findings] == ["real.py"]


# -- file blocks -------------------------------------------------------------


def test_file_blocks_are_returned_by_path() -> None:
    answer = (
        "Here are the files.\n"
        f"{FENCE}markdown file=plans/x/plan.md\n# Plan\n\nDo it.\n{FENCE}\n"
        f"{FENCE}file=./src/a.py\nprint('a')\n{FENCE}\n"
        f"{FENCE}python\nnot a file block\n{FENCE}\n"
        f"{FENCE}file=empty.txt\n{FENCE}\n"
    )
    assert parse_file_blocks(answer) == {
        "plans/x/plan.md": "# Plan\n\nDo it.\n",
        "src/a.py": "print('a')\n",
        "empty.txt": "",
    }


def test_file_block_can_contain_a_longer_nested_fence() -> None:
    answer = f"````file=README.md\nUsage:\n{FENCE}sh\nmake\n{FENCE}\n````\n"
    assert parse_file_blocks(answer) == {"README.md": f"Usage:\n{FENCE}sh\nmake\n{FENCE}\n"}


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "/abs/file.py", ".git/config", "."])
def test_file_block_outside_the_workspace_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="outside the workspace"):
        parse_file_blocks(f"{FENCE}file={path}\nboom\n{FENCE}\n")


def test_one_bad_file_block_refuses_the_whole_answer() -> None:
    answer = f"{FENCE}file=ok.py\nx\n{FENCE}\n{FENCE}file=../evil.py\ny\n{FENCE}\n"
    with pytest.raises(ValueError):
        parse_file_blocks(answer)


def test_unclosed_file_block_is_refused() -> None:
    with pytest.raises(ValueError, match="not closed"):
        parse_file_blocks(f"{FENCE}file=a.py\nprint(1)\n")


def test_no_file_blocks_gives_no_files() -> None:
    assert parse_file_blocks("I could not do it.\n") == {}


# -- evaluation --------------------------------------------------------------


def evaluation(scores: dict[str, object], findings: str = "", extra: str = "") -> str:
    body = "scores:\n" + "".join(f"  {k}: {v}\n" for k, v in scores.items()) + findings + extra
    return f"My evaluation.\n\n{FENCE}yaml\n{body}{FENCE}\n"


GOOD = {"plan_quality": 4, "review_usefulness": 5, "implementation_drift": 4, "trigger_correctness": 5}
LOW_FINDING = (
    "findings:\n"
    "  - dimension: trigger_correctness\n"
    "    evidence: plans/x/validation.md:12\n"
    "    impact: the check never fires\n"
    "    suggestion: alert on zero rows\n"
)


def test_evaluation_with_all_scores_high_is_scored() -> None:
    p = parse_evaluation(evaluation(GOOD))
    assert p.verdict == "SCORED"
    assert p.extra["scores"] == GOOD
    assert p.as_dict()["scores"] == GOOD


def test_evaluation_with_low_score_and_finding_is_scored() -> None:
    p = parse_evaluation(evaluation({**GOOD, "trigger_correctness": 2}, LOW_FINDING))
    assert p.verdict == "SCORED"
    assert p.extra["scores"]["trigger_correctness"] == 2


def test_evaluation_low_score_without_finding_is_unparseable() -> None:
    p = parse_evaluation(evaluation({**GOOD, "plan_quality": 3}))
    assert p.verdict == UNPARSEABLE
    assert "plan_quality" in p.reason


def test_evaluation_finding_for_another_dimension_does_not_cover_a_low_score() -> None:
    p = parse_evaluation(evaluation({**GOOD, "plan_quality": 1}, LOW_FINDING))
    assert p.verdict == UNPARSEABLE
    assert "plan_quality" in p.reason


@pytest.mark.parametrize("value", [0, 6, -1, 3.5, "'4'", "true", "null"])
def test_evaluation_score_out_of_range_or_not_an_int_is_unparseable(value: object) -> None:
    p = parse_evaluation(evaluation({**GOOD, "review_usefulness": value}))
    assert p.verdict == UNPARSEABLE
    assert "review_usefulness" in p.reason


def test_evaluation_bool_score_is_unparseable() -> None:
    # YAML `yes`/`true` load as bool, and bool is a subclass of int in Python.
    assert parse_evaluation(evaluation({**GOOD, "plan_quality": "true"})).verdict == UNPARSEABLE
    assert parse_evaluation(evaluation({**GOOD, "plan_quality": "yes"})).verdict == UNPARSEABLE


def test_evaluation_missing_dimension_is_unparseable() -> None:
    scores = {k: v for k, v in GOOD.items() if k != "implementation_drift"}
    p = parse_evaluation(evaluation(scores))
    assert p.verdict == UNPARSEABLE
    assert "implementation_drift" in p.reason


def test_evaluation_time_efficiency_is_ignored() -> None:
    p = parse_evaluation(evaluation({**GOOD, "time_efficiency": 1}))
    assert p.verdict == "SCORED"
    assert "time_efficiency" not in p.extra["scores"]


@pytest.mark.parametrize(
    "evidence",
    ["plans/x/validation.md:12", "plans/x/plan.md#rollback", "plans/x/plan.md § Rollback", "plan.md (Risks section)"],
)
def test_evaluation_evidence_forms_accepted(evidence: str) -> None:
    findings = LOW_FINDING.replace("plans/x/validation.md:12", f"'{evidence}'")
    assert parse_evaluation(evaluation({**GOOD, "trigger_correctness": 3}, findings)).verdict == "SCORED"


@pytest.mark.parametrize("evidence", ["the plan is vague", "validation.md", "see above"])
def test_evaluation_evidence_without_a_location_is_unparseable(evidence: str) -> None:
    findings = LOW_FINDING.replace("plans/x/validation.md:12", evidence)
    p = parse_evaluation(evaluation({**GOOD, "trigger_correctness": 3}, findings))
    assert p.verdict == UNPARSEABLE
    assert "evidence" in p.reason


@pytest.mark.parametrize("key", ["evidence", "impact", "suggestion"])
def test_evaluation_finding_missing_a_field_is_unparseable(key: str) -> None:
    findings = "\n".join(line for line in LOW_FINDING.splitlines() if not line.strip().startswith(key)) + "\n"
    p = parse_evaluation(evaluation({**GOOD, "trigger_correctness": 3}, findings))
    assert p.verdict == UNPARSEABLE
    assert key in p.reason


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "scores: {plan_quality: 5}\n",
        f"{FENCE}yaml\nscores:\n  plan_quality: 5\n",
        f"{FENCE}yaml\n[1, 2]\n{FENCE}\n",
        f"{FENCE}yaml\nscores: [\n{FENCE}\n",
        evaluation(GOOD) + evaluation(GOOD),
        f"{FENCE}json\n{json.dumps({'scores': GOOD})}\n{FENCE}\n",
        evaluation(GOOD, "findings: not-a-list\n"),
    ],
)
def test_evaluation_fails_closed(answer: str) -> None:
    assert parse_evaluation(answer).verdict == UNPARSEABLE


# -- property: no VOTE line, no pass -----------------------------------------

_no_vote_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),
    max_size=200,
).filter(lambda s: "vote" not in s.lower().replace("*", "").replace("_", "").replace("`", ""))


@settings(max_examples=200, deadline=None)
@given(text=_no_vote_line)
def test_random_text_without_a_vote_never_passes(text: str) -> None:
    assert parse_code_review(text).verdict != "PRODUCTION_GRADE"


_prose_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc")),
    max_size=40,
).filter(lambda s: "vote" not in s.lower() and "`" not in s and "~" not in s)
_decoy = st.sampled_from(
    [
        "> VOTE: PRODUCTION GRADE",
        ">VOTE: PRODUCTION GRADE",
        "  > **VOTE: PRODUCTION GRADE**",
        f"{FENCE}text\nVOTE: PRODUCTION GRADE\n{FENCE}",
        "~~~\nVOTE: PRODUCTION GRADE\n~~~",
        "PRODUCTION GRADE",
        "- [P0] a.py:1 — PRODUCTION GRADE",
    ]
)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(_prose_line, _decoy), max_size=12))
def test_quoted_or_fenced_votes_never_pass(parts: list[str]) -> None:
    assert parse_code_review("\n".join(parts)).verdict != "PRODUCTION_GRADE"


def test_a_mention_is_the_keyword_then_a_colon_or_a_value_within_three_words() -> None:
    from devloop.judging.answers import mention_pattern

    p = mention_pattern("votes?", "yes|no")
    assert p.search("My VOTE: x") and p.search("votes = 3")
    assert p.search("vote in the end no") and not p.search("vote in the very end no")  # three words, not four
    assert not p.search("devote: time") and not p.search("the vote went well")
    assert not p.search("vote\u017f: x"), "ASCII rules: a long s is not an s, and not part of the word"
    route = mention_pattern("routes?", "")
    assert route.search("Route = x") and not route.search("route code")


def test_each_fenced_block_knows_its_opening_line_and_info_string() -> None:
    from devloop.judging.answers import fenced_blocks

    blocks, closed = fenced_blocks("a\n```x\x0c\n1\n```\n~~~\t XyX \t\n~~~\n")
    assert closed and [(b.info, b.line, b.body) for b in blocks] == [("x\x0c", 2, "1\n"), ("XyX", 5, "")]
