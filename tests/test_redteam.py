"""devloop.judging.redteam: parsing, dedupe, consensus and grading of red-team answers (seed 001, step 3.5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devloop.judging.redteam import (
    Merged,
    RTFinding,
    merge,
    missing_references,
    normalise_grade,
    parse_red_team,
    render_report,
    required_ids,
    similarity,
    title_words,
)

BT = "```"


def ok(text: str, team: str = "claude") -> list[RTFinding]:
    findings, reason = parse_red_team(text, team)
    assert findings is not None, reason
    assert reason == ""
    return findings


def bad(text: str) -> str:
    findings, reason = parse_red_team(text, "codex")
    assert findings is None
    assert reason
    return reason


def f(title: str, team: str, grade: str = "should-fix", scenario: str = "") -> RTFinding:
    return RTFinding(grade, title, scenario or f"{team} saw {title}", team)


# -- parsing ------------------------------------------------------------------


def test_parses_grade_title_scenario_and_team() -> None:
    text = (
        "I attacked the plan.\n\n"
        "- [must-fix] Partition overwrite deletes history — a rerun for 2024-01-01 truncates the table\n"
        "- [should-fix] Retry storm — 5xx from BQ makes every worker retry at once\n"
        "* [acceptable] Clock skew — the cron fires 2 s late\n"
    )
    assert ok(text, "claude") == [
        RTFinding(
            "must-fix", "Partition overwrite deletes history", "a rerun for 2024-01-01 truncates the table", "claude"
        ),
        RTFinding("should-fix", "Retry storm", "5xx from BQ makes every worker retry at once", "claude"),
        RTFinding("acceptable", "Clock skew", "the cron fires 2 s late", "claude"),
    ]


@pytest.mark.parametrize(
    ("word", "grade"),
    [
        ("must-fix", "must-fix"),
        ("MUST FIX", "must-fix"),
        ("must_fix", "must-fix"),
        ("Must-Fix", "must-fix"),
        ("should fix", "should-fix"),
        ("SHOULD_FIX", "should-fix"),
        ("acceptable", "acceptable"),
        ("Acceptable", "acceptable"),
    ],
)
def test_grade_spellings(word: str, grade: str) -> None:
    assert normalise_grade(word) == grade
    [finding] = ok(f"- [{word}] Title here — scenario\n")
    assert finding.grade == grade


def test_normalise_grade_rejects_other_words() -> None:
    assert normalise_grade("P1") is None
    assert normalise_grade("mustfix") is None
    assert normalise_grade("") is None


@pytest.mark.parametrize(
    ("line", "title", "scenario"),
    [
        ("- [must-fix] Lost writes — two workers commit", "Lost writes", "two workers commit"),
        ("- [must-fix] Lost writes – two workers commit", "Lost writes", "two workers commit"),
        ("- [must-fix] Lost writes -- two workers commit", "Lost writes", "two workers commit"),
        ("- [must-fix] Lost writes - two workers commit", "Lost writes", "two workers commit"),
        ("- [must-fix] Lost writes—two workers commit", "Lost writes", "two workers commit"),
        ("- [must-fix] Read-modify-write race — two workers commit", "Read-modify-write race", "two workers commit"),
        ("- [must-fix] Retry - backoff gap — workers spin", "Retry - backoff gap", "workers spin"),
        ("- [must-fix] Lost writes", "Lost writes", ""),
        ("- **[must-fix]** Lost writes — two workers", "Lost writes", "two workers"),
        ("  - [must-fix]   Lost writes — two workers   ", "Lost writes", "two workers"),
    ],
)
def test_title_and_scenario_split(line: str, title: str, scenario: str) -> None:
    [finding] = ok(line + "\n")
    assert (finding.title, finding.scenario) == (title, scenario)


def test_trailing_location_goes_with_the_scenario_not_the_title() -> None:
    [a, b] = ok(
        "- [must-fix] Lost writes — two workers commit (src/db.py:42)\n- [acceptable] Slow start (deploy/run.yaml:7)\n"
    )
    assert (a.title, a.scenario) == ("Lost writes", "two workers commit (src/db.py:42)")
    assert (b.title, b.scenario) == ("Slow start", "(deploy/run.yaml:7)")


@pytest.mark.parametrize("line", ["NO FINDINGS", "No findings.", "**NO FINDINGS**", "no findings  "])
def test_no_findings_line(line: str) -> None:
    assert ok(f"I tried hard.\n{line}\n") == []


@pytest.mark.parametrize(
    "text",
    [
        "  no findings\n",
        f"{BT}\nNO FINDINGS\n{BT}\n- [should-fix] Real one — counted\n",
        "> NO FINDINGS\n\n- [should-fix] Real one — counted\n",
        "<!-- NO FINDINGS -->\n- [should-fix] Real one — counted\n",
        "NO FINDINGS\n\n    NO FINDINGS\n",
    ],
)
def test_a_no_findings_line_anywhere_but_unindented_prose_is_ambiguous(text: str) -> None:
    assert "ambiguous" in bad(text)


def test_two_no_findings_lines_are_unparseable() -> None:
    assert "more than one NO FINDINGS line" in bad("NO FINDINGS\n\nNO FINDINGS\n")


def test_no_findings_must_be_alone_on_its_line() -> None:
    assert "no '- [grade]" in bad("There were no findings worth reporting.\n")


def test_lines_in_code_blocks_and_quotes_do_not_count() -> None:
    text = (
        f"{BT}\n- [must-fix] Quoted in code — ignored\n{BT}\n"
        "> - [must-fix] Quoted — ignored\n"
        "\n<!--\n- [must-fix] Commented out — ignored\n-->\n"
        "- [should-fix] Real one — counted\n"
    )
    assert [x.title for x in ok(text)] == ["Real one"]
    # an unknown grade inside a code block does not poison the answer either
    assert ok("~~~\n- [P1] x\n~~~\nNO FINDINGS\n") == []


def test_markdown_link_bullet_is_prose_not_a_finding() -> None:
    assert ok("- [the design doc](https://example.com) says so\nNO FINDINGS\n") == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        (f"- [must-fix] A — b\n{BT}python\nx = 1\n", "not closed"),
        ("I looked at everything and it is fine.\n", "no '- [grade]"),
        ("- [must-fix] A thing — b\nNO FINDINGS\n", "contradictory"),
        ("- [P1] src/a.py:3 — wrong format\n", "unknown grade [P1]"),
        ("- [must-fix] Fine — ok\n- [critical] Bad — grade\n", "unknown grade [critical]"),
        ("- [ ] a task list item\nNO FINDINGS\n", "unknown grade [ ]"),
        ("- [must-fix] — only a scenario\n", "no title"),
        ("- [must-fix]\n", "no title"),
    ],
)
def test_unparseable_answers(text: str, reason: str) -> None:
    assert reason in bad(text)


# -- similarity and merge -----------------------------------------------------


def test_title_words_drop_stop_words_and_punctuation() -> None:
    assert title_words("The retry of a BQ-load, on 5xx!") == {"retry", "bq", "load", "5xx"}


def test_similarity() -> None:
    assert similarity("Lost writes on concurrent rerun", "Concurrent rerun loses writes") == pytest.approx(3 / 5)
    assert similarity("Partition overwrite deletes history", "partition overwrite deletes the history") == 1.0
    # containment with 2+ words counts as the same finding
    assert similarity("IAM escalation", "IAM escalation via impersonation of the deployer SA") == 1.0
    # containment of a single word does not
    assert similarity("IAM", "IAM escalation via impersonation") == pytest.approx(1 / 4)
    assert similarity("the", "a") == 0.0
    assert similarity("The", "the ") == 1.0


def test_near_identical_titles_across_teams_become_one_consensus_finding() -> None:
    merged = merge(
        [
            f("Partition overwrite deletes history", "claude", "should-fix", "rerun truncates"),
            f("Unrelated thing", "claude", "acceptable"),
            f("Partition overwrite deletes the history!", "codex", "must-fix", "backfill truncates"),
        ]
    )
    assert [m.title for m in merged] == ["Partition overwrite deletes history", "Unrelated thing"]
    first = merged[0]
    assert first == Merged(
        id="RT-1",
        grade="must-fix",  # escalated to the most severe grade any team gave
        title="Partition overwrite deletes history",  # first seen
        scenarios=["rerun truncates", "backfill truncates"],
        teams=["claude", "codex"],
        consensus=True,
    )
    assert merged[1].consensus is False and merged[1].teams == ["claude"]


def test_different_titles_stay_two_single_team_findings() -> None:
    merged = merge([f("Retry storm on 5xx", "claude"), f("IAM role too broad", "codex")])
    assert len(merged) == 2
    assert all(not m.consensus and len(m.teams) == 1 for m in merged)


def test_same_team_duplicates_merge_but_are_not_consensus() -> None:
    [m] = merge([f("Retry storm on 5xx", "claude", scenario="s"), f("retry storm on 5xx", "claude", scenario="s")])
    assert m.teams == ["claude"]
    assert m.consensus is False
    assert m.scenarios == ["s"]  # identical scenarios are kept once


def test_threshold_boundary() -> None:
    a, b = "alpha beta gamma", "alpha beta delta"  # jaccard 2/4 = 0.5
    assert len(merge([f(a, "x"), f(b, "y")], threshold=0.5)) == 1
    assert len(merge([f(a, "x"), f(b, "y")], threshold=0.51)) == 2


def test_best_match_wins_over_first_match() -> None:
    findings = [
        f("alpha beta gamma", "a"),
        f("delta epsilon zeta eta", "a"),
        f("alpha beta delta epsilon zeta omega", "b"),  # 2/7 with the first group, 3/7 with the second
    ]
    merged = merge(findings, threshold=0.25)
    by_title = {m.title: m.teams for m in merged}
    assert by_title == {"alpha beta gamma": ["a"], "delta epsilon zeta eta": ["a", "b"]}


def test_order_is_consensus_then_grade_then_first_appearance_and_ids_follow() -> None:
    findings = [
        f("single acceptable", "a", "acceptable"),
        f("single should fix", "a", "should-fix"),
        f("single must fix one", "a", "must-fix"),
        f("shared acceptable item", "a", "acceptable"),
        f("single must fix two", "b", "must-fix"),
        f("shared acceptable item", "b", "acceptable"),
        f("shared should fix item", "a", "should-fix"),
        f("shared should fix item", "b", "should-fix"),
    ]
    merged = merge(findings, threshold=0.9)
    assert [(m.id, m.title, m.consensus) for m in merged] == [
        ("RT-1", "shared should fix item", True),
        ("RT-2", "shared acceptable item", True),
        ("RT-3", "single must fix one", False),
        ("RT-4", "single must fix two", False),
        ("RT-5", "single should fix", False),
        ("RT-6", "single acceptable", False),
    ]
    assert merge(findings, threshold=0.9) == merged  # deterministic


def test_merge_of_nothing() -> None:
    assert merge([]) == []
    assert required_ids([]) == []


# -- ids and references -------------------------------------------------------


def test_required_ids_are_must_and_should_fix() -> None:
    merged = merge([f("one thing", "a", "acceptable"), f("two thing here", "a", "must-fix"), f("three", "b")])
    assert [(m.id, m.grade) for m in merged] == [("RT-1", "must-fix"), ("RT-2", "should-fix"), ("RT-3", "acceptable")]
    assert required_ids(merged) == ["RT-1", "RT-2"]


def test_missing_references_use_whole_tokens() -> None:
    ids = ["RT-1", "RT-2", "RT-10"]
    assert missing_references("Covers RT-10 and RT-2.", ids) == ["RT-1"]
    assert missing_references("RT-1, RT-2 (RT-10)", ids) == []
    assert missing_references("see RT-1a and XRT-2 and RT-100", ids) == ["RT-1", "RT-2", "RT-10"]
    assert missing_references("- smoke check for rt-1\n", ["RT-1"]) == []
    assert missing_references("", ids) == ids
    assert missing_references("anything", []) == []


# -- report -------------------------------------------------------------------


def test_render_report() -> None:
    merged = merge(
        [
            f("Partition overwrite deletes history", "claude", "must-fix", "rerun truncates"),
            f("Partition overwrite deletes history", "codex", "should-fix", "backfill truncates"),
            f("Retry storm", "codex", "acceptable", "5xx everywhere"),
        ]
    )
    report = render_report("daily-ingest", merged, ["claude", "codex"])
    lines = report.splitlines()
    assert lines[0] == "# Red team: daily-ingest"
    assert "Teams: claude, codex (2 distinct finding(s) after dedupe)" in lines
    consensus = lines.index("## Consensus (found by 2+ teams)")
    single = lines.index("## Single team")
    summary = lines.index("## Summary")
    assert consensus < single < summary
    rt1 = lines.index("- **RT-1** [must-fix] Partition overwrite deletes history — teams: claude, codex")
    assert consensus < rt1 < single
    assert lines[rt1 + 1 : rt1 + 3] == ["  - rerun truncates", "  - backfill truncates"]
    rt2 = lines.index("- **RT-2** [acceptable] Retry storm — teams: codex")
    assert single < rt2 < summary
    assert lines[rt2 + 1] == "  - 5xx everywhere"
    assert {"- must-fix: 1", "- should-fix: 0", "- acceptable: 1"} <= set(lines)
    assert "validation.md" in lines[-1] and "(RT-1)" in lines[-1]
    assert report.endswith("\n")


def test_render_report_with_empty_sections() -> None:
    report = render_report("x", [], [])
    assert "Teams: none" in report
    assert report.count("None.") == 2
    assert "- must-fix: 0" in report


# -- end to end and robustness --------------------------------------------------


def test_two_teams_end_to_end() -> None:
    claude = ok("- [should-fix] Lost writes on concurrent rerun — A\n- [acceptable] Slow cold start — B\n", "claude")
    codex = ok("- [MUST FIX] Lost writes during concurrent rerun — C (src/a.py:3)\n", "codex")
    merged = merge(claude + codex)
    assert [(m.id, m.grade, m.consensus, m.teams) for m in merged] == [
        ("RT-1", "must-fix", True, ["claude", "codex"]),
        ("RT-2", "acceptable", False, ["claude"]),
    ]
    assert merged[0].scenarios == ["A", "C (src/a.py:3)"]
    assert missing_references("covers RT-1", required_ids(merged)) == []


_LINES = st.sampled_from(
    [
        "- [must-fix] A b c — d",
        "- [should fix] a b — (x.py:1)",
        "- [acceptable] ",
        "- [P1] x",
        "- [",
        "NO FINDINGS",
        BT,
        "~~~",
        "> - [must-fix] q",
        "- [ ](",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), _LINES), max_size=30), st.text(max_size=10))
def test_random_answers_never_raise(parts: list[str], team: str) -> None:
    findings, reason = parse_red_team("\n".join(parts), team)
    assert (findings is None) == bool(reason)
    merged = merge(findings or [])
    assert [m.id for m in merged] == [f"RT-{i}" for i in range(1, len(merged) + 1)]
    report = render_report("feature", merged, [team])
    assert missing_references(report, required_ids(merged)) == []
