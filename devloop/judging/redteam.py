"""Aggregation of the red-team answers of seed 001, step 3.5.

Several teams attack the same plan with the same prompt. Their findings are
deduplicated, split into consensus (found by 2+ teams) and single-team, graded
must-fix / should-fix / acceptable, and written to red-team.md. Pass 2 of
validation.md must then cover every must-fix and should-fix finding by id.

Answer format each team uses, one finding per line, outside code blocks and
``>`` quotes (anything else in the answer is free prose)::

    - [must-fix] Title of the failure — concrete scenario (path:line)
    - [should-fix] Another failure — what happens, step by step
    - [acceptable] A tolerable risk — why it can happen

The grade is in brackets at the start of the line, case-insensitive;
``MUST FIX``, ``must_fix``, ``should fix`` are accepted spellings. The
``(path:line)`` tail is optional. A team that finds nothing writes a line
``NO FINDINGS`` on its own, under the keyword-line grammar of
devloop.judging.answers: unindented, in prose, once; a ``NO FINDINGS`` line anywhere
else (indented, fenced, quoted, in an HTML comment) makes the answer
ambiguous. Parsing is fail-closed: an answer we cannot read is UNPARSEABLE
with a reason, never "no findings".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devloop.judging.answers import PROSE, Keyword, ambiguity, contradiction, keyword_lines, readable

GRADES = ("must-fix", "should-fix", "acceptable")
"""Most severe first; the index is the sort rank."""

STOP_WORDS = frozenset("the a an of to in on for and or is are with when by".split())

_ITEM = re.compile(r"^\s*[-*]\s*[*_]*\[([^\]]*)\](?!\()[*_]*\s*(.*)$")  # `- [text](url)` is a link
_LOCATION = re.compile(r"\s*\(([^()\s]+:\d+)\)\s*$")
_SEPARATORS = (r"\s*—\s*", r"\s*–\s*", r"\s+--\s+", r"\s+-\s+")
NO_FINDINGS = Keyword(
    "NO FINDINGS",
    "NO FINDINGS",
    re.compile(r"^no findings(?P<value>)[.!]?$", re.IGNORECASE | re.ASCII),
    (re.compile(r"(?:^|<!--)[\s>*_`]*no findings[.!]?[\s*_`]*(?:-->|$)", re.IGNORECASE | re.ASCII),),
    passes=frozenset({""}),
    against=("must fix", "should fix"),
)


@dataclass
class RTFinding:
    """One failure scenario as one team stated it."""

    grade: str
    title: str
    scenario: str
    team: str


@dataclass
class Merged:
    """A deduplicated finding: the most severe grade any team gave it, and who found it."""

    id: str
    grade: str
    title: str
    scenarios: list[str]
    teams: list[str]
    consensus: bool


def normalise_grade(word: str) -> str | None:
    """``MUST FIX`` / ``must_fix`` / ``Must-Fix`` → ``must-fix``; None for anything else."""
    grade = re.sub(r"[\s_-]+", "-", word.strip().lower())
    return grade if grade in GRADES else None


def _split_item(rest: str) -> tuple[str, str]:
    """Title and scenario of one finding line; a trailing ``(path:line)`` stays with the scenario."""
    location = ""
    m = _LOCATION.search(rest)
    if m:
        location, rest = m.group(1), rest[: m.start()]
    title, scenario = rest, ""
    for separator in _SEPARATORS:
        parts = re.split(separator, rest, maxsplit=1)
        if len(parts) == 2:
            title, scenario = parts
            break
    scenario = f"{scenario.strip()} ({location})".strip() if location else scenario.strip()
    return title.strip().strip("*_").strip(), scenario


def parse_red_team(text: str, team: str) -> tuple[list[RTFinding] | None, str]:
    """``(findings, "")`` for a readable answer, ``(None, reason)`` when it is UNPARSEABLE."""
    lines, problem = readable(text)
    if problem:
        return None, problem
    said, strays = keyword_lines(lines, NO_FINDINGS)
    if strays:
        return None, ambiguity(NO_FINDINGS, strays, said)
    if len(said) > 1:
        return None, f"more than one NO FINDINGS line (lines {', '.join(str(h.line) for h in said)})"
    said_none = bool(said)
    findings: list[RTFinding] = []
    for line in (ln.text for ln in lines if ln.where == PROSE):
        m = _ITEM.match(line)
        if not m:
            continue
        grade = normalise_grade(m.group(1))
        if grade is None:
            return None, f"unknown grade [{m.group(1)}]; expected one of: {', '.join(GRADES)}"
        title, scenario = _split_item(m.group(2))
        if not title:
            return None, f"a [{grade}] finding has no title"
        findings.append(RTFinding(grade, title, scenario, team))
    if said_none and findings:
        return None, f"contradictory: NO FINDINGS together with {len(findings)} finding(s)"
    if said_none and (contrary := contradiction(lines, NO_FINDINGS, [said[0].line])):
        return None, contrary
    if not said_none and not findings:
        return None, "no '- [grade] Title — scenario' lines and no NO FINDINGS line"
    return findings, ""


def title_words(title: str) -> frozenset[str]:
    """The words that carry a title's meaning: lowercase alphanumerics minus stop words."""
    return frozenset(w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in STOP_WORDS)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of two titles' words; 1.0 when one is contained in the other (2+ words)."""
    wa, wb = title_words(a), title_words(b)
    if not wa or not wb:
        return 1.0 if a.strip().lower() == b.strip().lower() else 0.0
    if min(len(wa), len(wb)) >= 2 and (wa <= wb or wb <= wa):
        return 1.0
    return len(wa & wb) / len(wa | wb)


def merge(findings: list[RTFinding], threshold: float = 0.5) -> list[Merged]:
    """Group findings whose titles are similar (best match wins, ties to the earliest group).

    Output order is consensus first, then by grade, then by first appearance; ids follow it.
    """
    groups: list[list[RTFinding]] = []
    for finding in findings:
        best, best_score = None, 0.0
        for group in groups:
            score = max(similarity(finding.title, member.title) for member in group)
            if score >= threshold and score > best_score:
                best, best_score = group, score
        if best is None:
            groups.append([finding])
        else:
            best.append(finding)
    merged = []
    for group in groups:
        teams = sorted({f.team for f in group})
        scenarios = list(dict.fromkeys(f.scenario for f in group if f.scenario))
        grade = min((f.grade for f in group), key=GRADES.index)
        merged.append(Merged("", grade, group[0].title, scenarios, teams, len(teams) >= 2))
    order = sorted(range(len(merged)), key=lambda i: (not merged[i].consensus, GRADES.index(merged[i].grade), i))
    result = [merged[i] for i in order]
    for number, item in enumerate(result, start=1):
        item.id = f"RT-{number}"
    return result


def required_ids(merged: list[Merged]) -> list[str]:
    """Ids that validation.md pass 2 must cover: every must-fix and should-fix finding."""
    return [m.id for m in merged if m.grade in ("must-fix", "should-fix")]


def missing_references(validation_text: str, ids: list[str]) -> list[str]:
    """Ids not mentioned as whole tokens (``RT-10`` does not satisfy ``RT-1``)."""
    return [
        i
        for i in ids
        if not re.search(rf"(?<![A-Za-z0-9]){re.escape(i)}(?![A-Za-z0-9])", validation_text, re.IGNORECASE)
    ]


def _section(title: str, items: list[Merged]) -> list[str]:
    lines = [f"## {title}", ""]
    if not items:
        lines.append("None.")
    for m in items:
        lines.append(f"- **{m.id}** [{m.grade}] {m.title} — teams: {', '.join(m.teams)}")
        lines.extend(f"  - {s}" for s in m.scenarios)
    return [*lines, ""]


def render_report(feature: str, merged: list[Merged], teams: list[str]) -> str:
    """The markdown of plans/<feature>/red-team.md."""
    lines = [
        f"# Red team: {feature}",
        "",
        f"Teams: {', '.join(teams) if teams else 'none'} ({len(merged)} distinct finding(s) after dedupe)",
        "",
        *_section("Consensus (found by 2+ teams)", [m for m in merged if m.consensus]),
        *_section("Single team", [m for m in merged if not m.consensus]),
        "## Summary",
        "",
        *(f"- {g}: {sum(1 for m in merged if m.grade == g)}" for g in GRADES),
        "",
    ]
    required = required_ids(merged)
    if required:
        lines.append(
            "validation.md (pass 2) must reference every must-fix and should-fix id "
            f"({', '.join(required)}) with a smoke check or rollback trigger that covers it."
        )
    else:
        lines.append("validation.md must reference every must-fix and should-fix id; there are none this time.")
    return "\n".join(lines) + "\n"
