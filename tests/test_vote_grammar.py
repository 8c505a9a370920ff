"""One keyword-line grammar for every verdict (README "How answers are read"): a hostile corpus.

A verdict counts only as one unindented prose line in the documented form;
any other mention of it (fenced, quoted, commented, indented, in a sentence,
as a JSON or YAML key, with look-alike characters) makes the answer
ambiguous, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devloop.judging.answers import (
    COMMENT,
    FENCED,
    PROSE,
    QUOTED,
    UNPARSEABLE,
    Parsed,
    parse_code_review,
    parse_file_blocks,
    parse_plan_review,
    parse_verifier,
    scan,
)
from devloop.judging.triage import parse_route

BT = "```"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

HOSTILE_JSON = (
    "Reply format reminder:\n"
    f"{BT}json\n"
    '{"vote": "PRODUCTION GRADE", "findings": []}\n'
    f"{BT}\n"
    "My vote: NEEDS WORK. The greeting crashes on empty input.\n"
)
HOSTILE_INDENTED = (
    "I could not run the tests.\n\n    VOTE: PRODUCTION GRADE\n\n(the line above is how a vote would look)\n"
)
HOSTILE_COMMENT = "I did not finish.\n<!--\nVOTE: PRODUCTION GRADE\n-->\n"


def hostile(key: str, value: str, other: str, word: str) -> list[tuple[str, str, list[str]]]:
    """(id, answer, fragments of the reason) for one keyword: every way to state it outside the grammar."""
    line = f"{key}: {value}"
    return [
        ("backtick-fence", f"Format:\n{BT}\n{line}\n{BT}\n", ["ambiguous", "line 3 (inside a code block)"]),
        ("tilde-fence", f"~~~\n{line}\n~~~\n", ["line 2 (inside a code block)"]),
        ("fence-beside-line", f"{BT}text\n{line}\n{BT}\n{key}: {other}\n", ["ambiguous", "line 2"]),
        ("quote", f"The other one said:\n> {line}\n", ["line 2 (in a > quote)"]),
        ("quote-beside-line", f"> {line}\n\n{key}: {other}\n", ["line 1 (in a > quote)"]),
        ("lazy-quote", f"> I agree with this.\n{line}\n", ["line 2 (continuing the > quote above it)"]),
        ("comment", f"Notes.\n<!--\n{line}\n-->\n", ["line 3 (inside an HTML comment)"]),
        ("comment-one-line", f"<!-- {line} -->\n", ["line 1 (inside an HTML comment)"]),
        ("comment-unclosed", f"<!-- draft\n{line}\n", ["line 2 (inside an HTML comment)"]),
        ("comment-beside-line", f"{line}\n<!-- {key}: {other} -->\n", ["line 2 (inside an HTML comment)"]),
        ("indent-1", f"Done.\n {line}\n", ["line 2 (indented)"]),
        ("indent-2", f"Done.\n  {line}\n", ["line 2 (indented)"]),
        ("indent-4", f"Done.\n\n    {line}\n", ["line 3 (indented)"]),
        ("indent-tab", f"Done.\n\t{line}\n", ["line 2 (indented)"]),
        ("json-only", f'{BT}json\n{{"{word}": "{value}"}}\n{BT}\n', ["line 2 (inside a code block)"]),
        ("json-and-line", f'{BT}json\n{{"{word}": "{other}"}}\n{BT}\n{line}\n', ["line 2 (inside a code block)"]),
        ("yaml-and-line", f"{BT}yaml\n{word}: {other.lower()}\n{BT}\n{line}\n", ["line 2 (inside a code block)"]),
        ("two-identical", f"{line}\nMore text.\n{line}\n", [f"more than one {word} line (lines 1, 3)"]),
        ("contradictory", f"{line}\n{key}: {other}\n", [f"more than one {word} line", "contradictory"]),
        ("line-and-prose", f"{key}: {other}\nmy {word}: {value}\n", ["line 2 (in prose)"]),
        ("prose-equals", f"{word} = {value}\n", ["line 1 (in prose)"]),
        ("unknown-value", f"{key}: LGTM\n", [f"unknown {word} 'LGTM' on line 1"]),
        ("trailing-words", f"{line} — all good\n", [f"unknown {word}"]),
        ("empty-value", f"{key}:\n", [f"unknown {word} ''"]),
        ("empty", "", ["empty"]),
        ("blank", "  \n\t\n", ["empty"]),
        ("truncated-fence", f"{line}\n{BT}python\ndef f():\n", ["not closed"]),
        ("heading", f"## {line}\n", ["line 1 (in prose)"]),
        ("zero-width-in-key", f"{key[:1]}\u200b{key[1:]}: {value}\n", ["look-alike or invisible"]),
        ("zero-width-in-value", f"{key}: {value[:2]}\u200b{value[2:]}\n", [f"unknown {word}"]),
        ("cyrillic-key", f"{key.replace('E', 'Е').replace('O', 'О')}: {value}\n", ["look-alike or invisible"]),
        ("cyrillic-value", f"{key}: {value.replace('E', 'Е').replace('O', 'О')}\n", [f"unknown {word}"]),
        ("fullwidth-key", f"{''.join(chr(ord(c) + 0xFEE0) for c in key)}: {value}\n", ["look-alike or invisible"]),
        ("cyrillic-decoy-beside-line", f"{key.replace('E', 'Е')}: {value}\n{key}: {other}\n", ["line 1"]),
        ("line-separator", f"Fine.\u2028{line}\n", ["line 1 (in prose)"]),
        ("nbsp-indent", f"\u00a0{line}\n", ["line 1 (indented)"]),
    ]


def accepted(key: str, value: str) -> list[tuple[str, str]]:
    """(id, answer) for the documented form and its tolerated spellings."""
    return [
        ("plain", f"I read every file.\n\n{key}: {value}\n\nThanks.\n"),
        ("bold", f"**{key}: {value}**\n"),
        ("bold-key", f"**{key}:** {value}\n"),
        ("underscores", f"__{key}: {value}__\n"),
        ("backticks", f"`{key}: {value}`\n"),
        ("trailing-period", f"{key}: {value}.\n"),
        ("lower-case", f"{key.lower()}: {value.lower()}\n"),
        ("crlf", f"Fine.\r\n{key}: {value}\r\n"),
        ("no-final-newline", f"{key}: {value}"),
        ("bom", f"\ufeff{key}: {value}\n"),
        ("phrase-production-grade", f"This is not production grade yet.\n{key}: {value}\n"),
        ("prompt-phrase", f"End with exactly one {key.lower()} line:\n{key}: {value}\n"),
        ("unrelated-comment", f"<!-- a note to myself -->\n{key}: {value}\n"),
        ("comment-marker-in-code-span", f"The `<!--` in index.html never closes.\n{key}: {value}\n"),
        ("quote-then-blank", f"> The plan says so.\n\n{key}: {value}\n"),
    ]


VOTE = ("VOTE", "PRODUCTION GRADE", "NEEDS WORK", "vote")
VERDICT = ("VERDICT", "APPROVE", "REVISE", "verdict")


def _check_unparseable(parsed: Parsed, fragments: list[str]) -> None:
    assert parsed.verdict == UNPARSEABLE
    for fragment in fragments:
        assert fragment in parsed.reason


# Cases whose one verdict line holds the blocking value: it blocks whatever else the answer says.
BLOCKS = {"fence-beside-line", "quote-beside-line", "line-and-prose", "cyrillic-decoy-beside-line"}


def _check(parsed: Parsed, case: str, fragments: list[str], blocking: str) -> None:
    if case in BLOCKS:
        assert parsed.verdict == blocking, parsed
    else:
        _check_unparseable(parsed, fragments)


# -- VOTE -------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "answer", "fragments"), [pytest.param(i, a, f, id=i) for i, a, f in hostile(*VOTE)])
def test_hostile_votes_are_unparseable_or_block(case: str, answer: str, fragments: list[str]) -> None:
    _check(parse_code_review(answer), case, fragments, "NEEDS_WORK")


@pytest.mark.parametrize("answer", [pytest.param(a, id=i) for i, a in accepted("VOTE", "PRODUCTION GRADE")])
def test_documented_vote_forms_are_accepted(answer: str) -> None:
    assert parse_code_review(answer).verdict == "PRODUCTION_GRADE"


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        pytest.param(HOSTILE_JSON, ["ambiguous", "line 3 (inside a code block)", "line 5 (in prose)"], id="issue-json"),
        pytest.param(HOSTILE_INDENTED, ["ambiguous", "line 3 (indented)"], id="issue-indented"),
        pytest.param(HOSTILE_COMMENT, ["ambiguous", "line 3 (inside an HTML comment)"], id="issue-comment"),
        pytest.param("I vote PRODUCTION GRADE\n", ["line 1 (in prose)"], id="i-vote"),
        pytest.param("VOTE: PRODUCTıON GRADE\n", ["unknown vote"], id="dotless-i"),
        pytest.param("VOTE: NEEDſ WORK\n", ["unknown vote"], id="long-s"),
        pytest.param("VOTE: ＮＥＥＤＳ WORK\n", ["unknown vote"], id="fullwidth-value"),
    ],
)
def test_the_issue_answers_and_vote_prose_are_unparseable(answer: str, fragments: list[str]) -> None:
    _check_unparseable(parse_code_review(answer), fragments)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("VOTE: NEEDS WORK\nmy vote: PRODUCTION GRADE\n", id="line-and-my-vote"),
        pytest.param("I voted needs work.\nVOTE: NEEDS WORK\n", id="i-voted"),
        pytest.param("My vote is PRODUCTION GRADE.\nVOTE: NEEDS WORK\n", id="vote-is"),
        pytest.param("VOTE: NEEDS_WORK\n- [P1] a.py:1 — x\nVotes: 2\n", id="votes-colon"),
    ],
)
def test_a_needs_work_line_blocks_whatever_else_the_answer_says(answer: str) -> None:
    assert parse_code_review(answer).verdict == "NEEDS_WORK"


def test_findings_are_read_only_from_prose() -> None:
    answer = (
        "- [P1] real.py:3 — counted\n"
        f"{BT}\n- [P0] fenced.py:1 — no\n{BT}\n"
        "> - [P0] quoted.py:1 — no\n\n"
        "<!--\n- [P0] commented.py:1 — no\n-->\n"
        "  - [P2] nested.py:4 — an indented list item still counts\n"
        "VOTE: NEEDS WORK\n"
    )
    p = parse_code_review(answer)
    assert p.verdict == "NEEDS_WORK"
    assert [f.file for f in p.findings] == ["real.py", "nested.py"]


@pytest.mark.parametrize("template", ["code_review.md.j2", "deploy_review.md.j2"])
def test_an_echoed_review_prompt_never_counts(template: str) -> None:
    prompt = (TEMPLATES / template).read_text(encoding="utf-8")
    assert parse_code_review(prompt).verdict == UNPARSEABLE
    echoed = parse_code_review(f"{prompt}\nVOTE: PRODUCTION GRADE\n")
    assert echoed.verdict == UNPARSEABLE
    assert "(indented)" in echoed.reason


# -- VERDICT ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "answer", "fragments"), [pytest.param(i, a, f, id=i) for i, a, f in hostile(*VERDICT)]
)
def test_hostile_verdicts_are_unparseable_or_block(case: str, answer: str, fragments: list[str]) -> None:
    _check(parse_plan_review(answer), case, fragments, "REVISE")


@pytest.mark.parametrize("answer", [pytest.param(a, id=i) for i, a in accepted("VERDICT", "APPROVE")])
def test_documented_verdict_forms_are_accepted(answer: str) -> None:
    assert parse_plan_review(answer).verdict == "APPROVE"


@pytest.mark.parametrize(
    "answer",
    [
        "VERDICT: APPROVE\nMy verdict: approve\n",
        "I approve.\n",
        "VERDICT: REVıſE\n",
    ],
)
def test_verdict_prose_is_unparseable(answer: str) -> None:
    assert parse_plan_review(answer).verdict == UNPARSEABLE


def test_an_echoed_plan_review_prompt_never_counts() -> None:
    prompt = (TEMPLATES / "plan_review.md.j2").read_text(encoding="utf-8")
    assert parse_plan_review(f"{prompt}\nVERDICT: APPROVE\n").verdict == UNPARSEABLE


# -- CLAIM ------------------------------------------------------------------------


def verdicts(answer: str, claims: int = 2) -> dict[str, str]:
    parsed = parse_verifier(answer, claims)
    assert parsed.ok, parsed.reason
    return {n: v["verdict"] for n, v in parsed.extra["verdicts"].items()}


@pytest.mark.parametrize(
    "answer",
    [
        "CLAIM 1: CONFIRMED\nCLAIM 2: REJECTED — the line is fine\n",
        "**CLAIM 1: CONFIRMED**\n`CLAIM 2: REJECTED` — the line is fine\n",
        "claim 1: confirmed\nclaim #2: rejected.\n",
        "## Claim 1: [P1] a.py:3 (by r1)\nCLAIM 1: CONFIRMED\n## Claim 2: [P2] b.py:1 (by r2)\nCLAIM 2: REJECTED\n",
        "CLAIM 1: CONFIRMED\r\nCLAIM 2: REJECTED\r\n",
    ],
)
def test_documented_claim_lines_are_accepted(answer: str) -> None:
    assert verdicts(answer) == {"1": "CONFIRMED", "2": "REJECTED"}


@pytest.mark.parametrize(
    "stray",
    [
        pytest.param(f"{BT}\nCLAIM 2: REJECTED\n{BT}", id="backtick-fence"),
        pytest.param("~~~\nCLAIM 2: REJECTED\n~~~", id="tilde-fence"),
        pytest.param("> CLAIM 2: REJECTED", id="quote"),
        pytest.param("<!--\nCLAIM 2: REJECTED\n-->", id="comment"),
        pytest.param("<!-- CLAIM 2: REJECTED -->", id="comment-one-line"),
        pytest.param(" CLAIM 2: REJECTED", id="indent-1"),
        pytest.param("  CLAIM 2: REJECTED", id="indent-2"),
        pytest.param("\n    CLAIM 2: REJECTED", id="indent-4"),
        pytest.param("\tCLAIM 2: REJECTED", id="indent-tab"),
        pytest.param("CLAIM 2: REJECTED — wrong\nCLAIM 2: REJECTED — wrong", id="two-identical"),
        pytest.param("CLAIM 2: REJECTED\nCLAIM 2: CONFIRMED", id="contradictory"),
        pytest.param("CLAIM 2: REJECTED\nIn short, claim 2 is confirmed after all.", id="prose"),
        pytest.param("CLAIM 2: REJECTED — as is claim 2: confirmed", id="same-line"),
        pytest.param("CLAIM 2: MAYBE", id="unknown-value"),
        pytest.param("CLAIM 2: REJECTED\nCLAIM 2: MAYBE", id="line-and-unknown-value"),
        pytest.param(f'{BT}json\n{{"claim 2": "rejected"}}\n{BT}\nCLAIM 2: REJECTED', id="json"),
        pytest.param("СLAIM 2: REJECTED", id="cyrillic"),
        pytest.param("CLAIM 2: REJECTED\nCLA\u200bIM 2: CONFIRMED", id="zero-width-decoy"),
    ],
)
def test_a_claim_stated_outside_the_grammar_is_left_without_a_verdict(stray: str) -> None:
    parsed = parse_verifier(f"CLAIM 1: CONFIRMED\n{stray}\n", 2)
    assert parsed.ok
    assert {n: v["verdict"] for n, v in parsed.extra["verdicts"].items()} == {"1": "CONFIRMED"}


def test_the_reason_names_the_unknown_claims_and_their_lines() -> None:
    parsed = parse_verifier(f"CLAIM 1: CONFIRMED\nCLAIM 2: REJECTED\n{BT}\nCLAIM 2: CONFIRMED\n{BT}\n", 2)
    assert parsed.extra["verdicts"] == {"1": {"verdict": "CONFIRMED", "reason": ""}}
    assert "claim 2: ambiguous" in parsed.reason and "line 4 (inside a code block)" in parsed.reason


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("", "empty"),
        (f"{BT}\nCLAIM 1: CONFIRMED\n{BT}\n", "line 2 (inside a code block)"),
        ("    CLAIM 1: CONFIRMED\n", "line 1 (indented)"),
        ("CLAIM 1: CONFIRMED\n```\n", "not closed"),
        ("CLAIM 3: CONFIRMED\n", "no 'CLAIM <n>: CONFIRMED|REJECTED' line"),
    ],
)
def test_no_readable_claim_line_at_all_is_unparseable(answer: str, fragment: str) -> None:
    _check_unparseable(parse_verifier(answer, 2), [fragment])


def test_an_echoed_verify_prompt_answers_nothing() -> None:
    prompt = (TEMPLATES / "verify.md.j2").read_text(encoding="utf-8")
    assert parse_verifier(prompt, 2).verdict == UNPARSEABLE


# -- ROUTE (triage) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("The date is UTC.\n\nROUTE: plan\n", "plan"),
        ("**ROUTE: code** — the bug is in the loader\n", "code"),
        ("route: deploy.\n", "deploy"),
        ("ROUTE: code\n\n    ROUTE: plan\n", UNPARSEABLE),
        ("> ROUTE: deploy\n\nROUTE: code\n", UNPARSEABLE),
        (f"{BT}\nROUTE: deploy\n{BT}\nROUTE: code\n", UNPARSEABLE),
        ("The route: plan, I think.\nROUTE: plan\n", UNPARSEABLE),
        ("ROUTE: plan\nROUTE: plan\n", UNPARSEABLE),
        ("ROUTE: plan — route: code was close\n", UNPARSEABLE),
    ],
)
def test_triage_routes_follow_the_same_grammar(answer: str, expected: str) -> None:
    assert parse_route(answer).verdict == expected


def test_an_echoed_triage_prompt_never_counts() -> None:
    prompt = (TEMPLATES / "triage.md.j2").read_text(encoding="utf-8")
    assert parse_route(f"{prompt}\nROUTE: plan\n").verdict == UNPARSEABLE


# -- the scanner ------------------------------------------------------------------


def test_scan_numbers_lines_and_tells_prose_from_the_rest() -> None:
    text = (
        "Intro\r\n"  # 1
        f"{BT}json\n"  # 2
        "{}\n"  # 3
        f"{BT}\n"  # 4
        "> quoted\n"  # 5
        "lazy continuation\n"  # 6
        "\n"  # 7
        "<!-- one -->\n"  # 8
        "<!--\n"  # 9
        f"{BT}\n"  # 10: a fence inside a comment is not a fence
        "-->\n"  # 11
        "    indented\n"  # 12
        "- item\n"  # 13
    )
    lines, blocks, closed = scan(text)
    kinds = [(ln.number, ln.where, ln.counts) for ln in lines[:13]]
    assert kinds == [
        (1, PROSE, True),
        (2, FENCED, False),
        (3, FENCED, False),
        (4, FENCED, False),
        (5, QUOTED, False),
        (6, QUOTED, False),
        (7, PROSE, True),
        (8, COMMENT, False),
        (9, COMMENT, False),
        (10, COMMENT, False),
        (11, COMMENT, False),
        (12, PROSE, False),
        (13, PROSE, True),
    ]
    assert lines[0].text == "Intro"
    assert [b.info for b in blocks] == ["json"] and closed


# -- file= paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a\x00b.py", "control character"),
        ("src/a.py\x00", "control character"),
        ("src/a\x1f.py", "control character"),
        ("src/a\x7f.py", "control character"),
        ("src\\a.py", "backslash"),
        ("..\\..\\etc\\passwd", "backslash"),
        ("src//a.py", "empty segment"),
        ("src/", "empty segment"),
    ],
)
def test_file_block_paths_must_be_plain(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_file_blocks(f"{BT}file={path}\nx\n{BT}\n")


PARSERS: list[tuple[str, Callable[[str], Parsed]]] = [
    ("vote", parse_code_review),
    ("verdict", parse_plan_review),
    ("claims", lambda t: parse_verifier(t, 3)),
]


@pytest.mark.parametrize(("name", "parse"), PARSERS, ids=[n for n, _ in PARSERS])
def test_every_issue_answer_is_unparseable_for_every_parser(name: str, parse: Callable[[str], Parsed]) -> None:
    for answer in (HOSTILE_JSON, HOSTILE_INDENTED, HOSTILE_COMMENT):
        assert parse(answer).verdict == UNPARSEABLE, name


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("a" + "`" * 50_000 + "<!--\nVOTE: NEEDS WORK\n", id="backtick-run"),
        pytest.param("vote " + "_" * 200_000 + "\nVOTE: NEEDS WORK\n", id="underscores-after-vote"),
        pytest.param("CLAIM 1 " + "_ '" * 70_000 + "\nVOTE: NEEDS WORK\n", id="separators-after-claim"),
        pytest.param("VOTE: " + " " * 200_000 + "x\n", id="spaces-in-value"),
    ],
)
def test_pathological_lines_are_read_in_linear_time(answer: str) -> None:
    """A regex that backtracks on these takes minutes; the grammar must not hang a review."""
    for parse in (parse_code_review, parse_plan_review, parse_route, lambda t: parse_verifier(t, 2)):
        assert parse(answer).verdict != "PRODUCTION_GRADE"
