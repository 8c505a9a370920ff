"""Parsers of the machine-readable parts of agent answers. Fail-closed.

Every keyword line (``VOTE:``, ``VERDICT:``, ``CLAIM <n>:``, ``ROUTE:``,
``NO FINDINGS``) follows one grammar, README "How answers are read": the
verdict is one line on its own, unindented, in prose (outside code blocks,
``>`` quotes, HTML comments and HTML blocks); any other mention of it makes
the answer ambiguous, hence UNPARSEABLE with the line number of the stray
mention. A model that echoes the prompt's example, quotes another reviewer
or hides a second opinion in a code block is asked again instead of being
counted.

A pass (``PRODUCTION GRADE``, ``APPROVE``, ``NO FINDINGS``) is held to more:
no contrary value (``needs work``, ``revise``, ``must fix``) may be read
anywhere in the answer, as a person reads it (:mod:`devloop.judging.rendered`).
A blocking verdict beside stray mentions stays what it is: it blocks either
way. A reasoning model's leading ``<think>`` block is set aside first.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from devloop.judging import rendered

UNPARSEABLE = "UNPARSEABLE"
SEVERITIES = ("P0", "P1", "P2", "P3")
MAX_ANSWER_CHARS = 2_000_000

PROSE, FENCED, QUOTED, COMMENT, HTML = "prose", "fenced", "quoted", "comment", "html"

_FENCE = re.compile(r"^\s*(```+|~~~+)(.*)$")
_FINDING = re.compile(
    r"^\s*[-*]\s*\[([Pp][0-3])\]\s*([^\s:]+):(\d+)\s*(?:[—–:-]+\s*)?(.*)$",
)
# a finding-shaped line whatever its tag: one whose tag is not a severity is refused, never skipped
_TAGGED = re.compile(r"^\s*[-*]\s*\[([^\]\n]{1,24})\]\s*[^\s:]+:\d+")
_CHECKBOX = (" ", "x", "X")
# a line that interrupts a paragraph, so it cannot be a quote's lazy continuation
_NEW_BLOCK = re.compile(r"^\s*(?:[-*+]\s|\d{1,9}[.)]\s|#{1,6}(?:\s|$)|<|(?:[-*_]\s*){3,}$)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# HTML at the start of a line: an element opened there lasts until its closing tag (a collapsed <details>
# hides what is in it, blank lines or not); a void or closing tag, or a declaration, until a blank line
_OPEN_TAG = re.compile(r"^ {0,3}<([A-Za-z][A-Za-z0-9-]*)(?=[\s>/]|$)(?![^>]*/>)", re.IGNORECASE)
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_HTML_START = re.compile(r"^ {0,3}(?:</?[A-Za-z][A-Za-z0-9-]*(?:\s|/?>|$)|<\?|<![A-Za-z]|<!\[CDATA\[)")


@dataclass
class Finding:
    severity: str
    file: str
    line: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "line": self.line, "text": self.text}


@dataclass
class Parsed:
    """A verdict (or UNPARSEABLE with ``reason``) and the findings that came with it."""

    verdict: str
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict != UNPARSEABLE

    def as_dict(self) -> dict[str, Any]:
        out = {"verdict": self.verdict, "reason": self.reason, "findings": [f.as_dict() for f in self.findings]}
        return {**out, **self.extra}


@dataclass
class Block:
    info: str
    body: str
    line: int = 0  # 1-based line of its opening fence


class Line(NamedTuple):
    """One line of an answer, numbered from 1, and what kind of markdown holds it."""

    number: int
    text: str
    where: str  # PROSE, FENCED (fence lines included), QUOTED, COMMENT or HTML

    @property
    def indented(self) -> bool:
        return self.text[:1].isspace()

    @property
    def counts(self) -> bool:
        """Only an unindented prose line may carry a verdict (indented text may be a code block)."""
        return self.where == PROSE and not self.indented


def _blank_code_spans(line: str) -> str:
    """``line`` with its inline code spans blanked, so a `` `<!--` `` is not a comment.

    A backtick run closes at the next run of the same length; found by
    bisection, because a regex for it backtracks cubically on long runs.
    """
    if "`" not in line:
        return line
    runs = [(m.start(), m.end()) for m in re.finditer(r"`+", line)]
    by_length: dict[int, list[int]] = {}
    for i, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(i)
    out: list[str] = []
    done = i = 0
    while i < len(runs):
        start, end = runs[i]
        same = by_length[end - start]
        k = bisect.bisect_right(same, i)
        if k == len(same):
            i += 1
            continue
        close = runs[same[k]][1]
        out += [line[done:start], " " * (close - start)]
        done, i = close, same[k] + 1
    return "".join([*out, line[done:]])


def _comment_left_open(line: str, inside: bool) -> bool:
    """Whether an HTML comment is still open at the end of ``line``."""
    outside = _blank_code_spans(line)
    pos = 0
    while True:
        pos = (line if inside else outside).find("-->" if inside else "<!--", pos)
        if pos < 0:
            return inside
        pos, inside = pos + (3 if inside else 4), not inside


def scan(text: str) -> tuple[list[Line], list[Block], bool]:
    """Every line with its kind, the fenced blocks, and whether every fence closed.

    The one place that decides what is prose. Lines end at ``\\n`` (a ``\\r``
    before it is dropped); other Unicode separators do not end a line, so a
    vote cannot hide after one. A line that touches an HTML comment is a
    comment line; a line right after a quote line continues the quote unless
    it starts a new block (markdown's lazy continuation).
    """
    lines: list[Line] = []
    blocks: list[Block] = []
    fence: str | None = None
    info = ""
    body: list[str] = []
    in_comment = False
    quote_open = False
    html: re.Pattern[str] | None = None  # what ends the HTML block the line is in
    opened = 0
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.removesuffix("\r")
        m = _FENCE.match(line)
        if html is not None and fence is None and not in_comment:
            where = HTML
            if html.search(line):
                html = None
            lines.append(Line(number, line, where))
            quote_open = False
            continue
        if fence is not None:
            where = FENCED
            if m and m.group(1).startswith(fence[0]) and len(m.group(1)) >= len(fence) and not m.group(2).strip():
                blocks.append(Block(info, "\n".join(body) + ("\n" if body else ""), opened))
                fence = None
            else:
                body.append(line)
        elif in_comment:
            where, in_comment = COMMENT, _comment_left_open(line, True)
        elif m:
            where, fence, info, body, opened = FENCED, m.group(1), m.group(2).strip(" \t"), [], number
        elif line.lstrip().startswith(">") or (quote_open and line.strip() and not _NEW_BLOCK.match(line)):
            where = QUOTED
        elif "<!--" in _blank_code_spans(line):
            where, in_comment = COMMENT, _comment_left_open(line, False)
        elif (tag := _OPEN_TAG.match(line)) and tag.group(1).lower() not in _VOID:
            end = re.compile(rf"</{re.escape(tag.group(1))}\s*>", re.IGNORECASE)
            where, html = HTML, (None if end.search(line, tag.end()) else end)
        elif _HTML_START.match(line):
            where, html = HTML, _BLANK
        else:
            where = PROSE
        quote_open = where == QUOTED and bool(line.strip().lstrip(">").strip())
        lines.append(Line(number, line, where))
    return lines, blocks, fence is None


_BLANK = re.compile(r"^\s*$")


def fenced_blocks(text: str) -> tuple[list[Block], bool]:
    """The fenced blocks, and whether every fence closed."""
    _, blocks, closed = scan(text)
    return blocks, closed


def _clean(line: str) -> str:
    """Drop markdown emphasis around a line (``**VOTE: X**``, ``__VOTE: X__``, backticks)."""
    return re.sub(r"[*`]", "", line).strip(" \t").strip("_").strip(" \t")


def _rendered(text: str) -> list[str]:
    """``text`` as a reader may take it: as written, then folded (look-alikes, entities, escapes, marks) and with
    its tags as markup, where those differ from it."""
    folded = rendered.fold(text)
    return list(dict.fromkeys([text, folded, re.sub(r"</?[A-Za-z][^<>]*>", "", folded)]))


def readable(text: str) -> tuple[list[Line], str | None]:
    """The answer's lines, or why it cannot be read at all (empty, oversized, truncated).

    A leading reasoning block (``<think>``) is set aside: its lines are
    blank here, so line numbers still count from the top of the answer.
    """
    if not (text or "").strip():
        return [], "the answer is empty"
    if len(text) > MAX_ANSWER_CHARS:
        return [], f"the answer is longer than {MAX_ANSWER_CHARS} characters"
    text, problem = rendered.set_aside_reasoning(text)
    if problem:
        return [], problem
    if not text.strip():
        return [], "the answer holds only a reasoning block"
    lines, _, closed = scan(text)
    if not closed:
        return [], "a code block is not closed (truncated answer?)"
    return lines, None


# -- the keyword-line grammar ---------------------------------------------------
_Q = r"[\s*_`\"']*"  # spaces, emphasis and quotes between a keyword and what follows it
_Q1 = r"[\s*_`\"']+"
_WORD = r"[A-Za-z0-9]+"  # disjoint from _Q1, so the words between a keyword and a value cannot backtrack


@dataclass(frozen=True)
class Keyword:
    """One keyword line: the form that states a verdict, and what else counts as mentioning one.

    ``line`` is matched against an unindented prose line stripped of emphasis
    and has a ``value`` group (and optionally ``n``, the subject, and
    ``rest``, free text after the value). Every ``mention`` pattern is
    searched in every other line, and in a verdict line's ``rest``.
    """

    noun: str
    form: str
    line: re.Pattern[str]
    mention: tuple[re.Pattern[str], ...]
    passes: frozenset[str] = frozenset()  # values that count only when nothing in the answer says otherwise
    against: tuple[str, ...] = ()  # the words that say otherwise (devloop.judging.rendered.said)


def mention_pattern(word: str, values: str) -> re.Pattern[str]:
    """``word`` followed closely by ``:`` or ``=``, or within three words by one of ``values``."""
    value = rf"|(?:{_Q1}{_WORD}){{0,3}}?{_Q}\b(?:{values})\b" if values else ""
    return re.compile(rf"\b(?:{word})\b(?:{_Q}[:=]{value})", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class Hit:
    """A line in the documented form: its number, value, free text after it, and subject (a claim's number)."""

    line: int
    value: str
    rest: str
    subject: str


@dataclass(frozen=True)
class Stray:
    """A mention of the verdict anywhere else, and where it sits, for the reason given back to the agent."""

    line: int
    where: str
    subject: str


def _where(line: Line) -> str:
    if line.where == FENCED:
        return "inside a code block"
    if line.where == QUOTED:
        return "in a > quote" if line.text.lstrip().startswith(">") else "continuing the > quote above it"
    if line.where == COMMENT:
        return "inside an HTML comment"
    if line.where == HTML:
        return "inside an HTML block"
    return "indented" if line.indented else "in prose"


def _search(patterns: tuple[re.Pattern[str], ...], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        if m := pattern.search(text):
            return m
    return None


def _group(m: re.Match[str], name: str) -> str:
    return (m.groupdict().get(name) or "").strip(" \t")


def keyword_lines(lines: list[Line], kw: Keyword) -> tuple[list[Hit], list[Stray]]:
    """The verdict lines of ``kw`` and every stray mention of it, in answer order."""
    hits: list[Hit] = []
    strays: list[Stray] = []
    for line in lines:
        m = kw.line.match(_clean(line.text)) if line.counts else None
        if m:
            hits.append(Hit(line.number, _group(m, "value"), _group(m, "rest"), _group(m, "n")))
            if (s := _search(kw.mention, _group(m, "rest"))) is not None:
                strays.append(Stray(line.number, "after the verdict on the same line", _group(s, "n")))
            continue
        for i, view in enumerate(_rendered(line.text)):
            if (s := _search(kw.mention, view)) is not None:
                how = _where(line) if i == 0 else f"{_where(line)}, with look-alike or invisible characters or markup"
                strays.append(Stray(line.number, how, _group(s, "n")))
                break
    return hits, strays


def _missing(kw: Keyword) -> str:
    return f"no '{kw.form}' line on its own (unindented, outside code blocks, quotes, HTML comments and HTML blocks)"


def ambiguity(kw: Keyword, strays: list[Stray], hits: list[Hit]) -> str:
    """The UNPARSEABLE reason for stray mentions: where they are, and where the verdict line is (if any)."""
    where = ", ".join(f"line {s.line} ({s.where})" for s in strays[:5])
    more = f" and {len(strays) - 5} more" if len(strays) > 5 else ""
    if hits:
        at = ", ".join(str(h.line) for h in hits)
        return f"ambiguous: {kw.noun} mentioned at {where}{more} besides the '{kw.form}' line (line {at})"
    return f"ambiguous: {kw.noun} mentioned at {where}{more} but {_missing(kw)}"


def one_verdict(text: str, kw: Keyword, choices: dict[str, str]) -> tuple[str, Hit | None, list[Line]]:
    """``(choice, hit, lines)`` for exactly one verdict line and no stray mention, else ``(reason, None, lines)``."""
    lines, problem = readable(text)
    if problem:
        return problem, None, lines
    hits, strays = keyword_lines(lines, kw)
    if kw.passes and len(hits) == 1 and choices.get(_normal(hits[0].value)) not in (None, *kw.passes):
        return choices[_normal(hits[0].value)], hits[0], lines  # a blocking verdict blocks, strays or not
    if strays:
        return ambiguity(kw, strays, hits), None, lines
    if not hits:
        return _missing(kw), None, lines
    if len(hits) > 1:
        values = sorted({_normal(h.value) for h in hits})
        why = f"; contradictory: {', '.join(values)}" if len(values) > 1 else ""
        return f"more than one {kw.noun} line (lines {', '.join(str(h.line) for h in hits)}){why}", None, lines
    hit = hits[0]
    if _normal(hit.value) not in choices:
        why = f"unknown {kw.noun} {hit.value!r} on line {hit.line}; expected one of: {', '.join(choices)}"
        return why, None, lines
    if contrary := contradiction(lines, kw, [hit.line]):
        return contrary, None, lines
    return choices[_normal(hit.value)], hit, lines


def contradiction(lines: list[Line], kw: Keyword, verdict_lines: list[int]) -> str | None:
    """Why a pass does not count: a word of ``kw.against`` can be read in the rest of the answer, or None.

    Every line is read (code blocks, quotes, comments and HTML too), and the
    lines together (a soft line break renders as a space). The verdict
    line's own value is whole: ``VOTE: PRODUCTION GRADE, needs work`` is an
    unknown value already.
    """
    others = [ln for ln in lines if ln.number not in verdict_lines]
    whole = "\n".join(ln.text for ln in others)
    for word in kw.against:
        if not rendered.said(whole, word):
            continue
        at = [ln.number for ln in others if rendered.said(ln.text, word)]
        where = f"at line {at[0]}" if at else "across lines"
        return f"contradicts itself: {word.upper()!r} can be read {where}, beside the '{kw.form}' line"
    return None


def _normal(value: str) -> str:
    """Upper case, one space between words, no final period; non-ASCII stays as is (``"ı".upper()`` is ``"I"``)."""
    value = value.strip(" \t").removesuffix(".").rstrip(" \t")
    return re.sub(r"[ \t_]+", " ", value).upper() if value.isascii() else value


def _keyword_verdict(text: str, kw: Keyword, choices: dict[str, str]) -> Parsed:
    out, hit, lines = one_verdict(text, kw, choices)
    if hit is None:
        return Parsed(UNPARSEABLE, out)
    prose = [ln.text for ln in lines if ln.where == PROSE]
    for line in prose:
        tag = _TAGGED.match(line)
        if tag and tag.group(1) not in _CHECKBOX and not _FINDING.match(line):
            shown = line.strip()[:80]
            return Parsed(UNPARSEABLE, f"a finding's severity must be P0, P1, P2 or P3: {shown!r}")
    return Parsed(out, findings=parse_findings(prose))


def parse_findings(lines: list[str]) -> list[Finding]:
    out = []
    for line in lines:
        m = _FINDING.match(line)
        if m:
            out.append(Finding(m.group(1).upper(), m.group(2), int(m.group(3)), m.group(4).strip()))
    return out


VERDICT = Keyword(
    "verdict",
    "VERDICT: ...",
    re.compile(r"^VERDICT\s*:(?P<value>.*)$", re.IGNORECASE | re.ASCII),
    (mention_pattern("verdicts?", r"approve[sd]?|revise[sd]?"),),
    passes=frozenset({"APPROVE"}),
    against=("revise",),
)
VOTE = Keyword(
    "vote",
    "VOTE: ...",
    re.compile(r"^VOTE\s*:(?P<value>.*)$", re.IGNORECASE | re.ASCII),
    (mention_pattern("vot(?:e|es|ed|ing)", r"production[\s_-]*grade|needs[\s_-]*work"),),
    passes=frozenset({"PRODUCTION_GRADE"}),
    against=("needs work",),
)


def parse_plan_review(text: str) -> Parsed:
    """``VERDICT: APPROVE`` or ``VERDICT: REVISE`` plus ``- [P1] file:line — text`` findings."""
    return _keyword_verdict(text, VERDICT, {"APPROVE": "APPROVE", "REVISE": "REVISE"})


def parse_code_review(text: str) -> Parsed:
    """``VOTE: PRODUCTION GRADE`` / ``VOTE: NEEDS WORK`` plus findings lines."""
    return _keyword_verdict(text or "", VOTE, {"PRODUCTION GRADE": "PRODUCTION_GRADE", "NEEDS WORK": "NEEDS_WORK"})


def parse_file_blocks(text: str) -> dict[str, str]:
    """Files returned as fenced blocks with info string ``file=<path>`` (text-only agents).

    Paths must be relative, plain (``/`` between non-empty names, no control
    characters or backslashes) and stay inside the workspace; anything else
    raises ValueError, so nothing of the answer is written.
    """
    blocks, closed = fenced_blocks(text)
    if not closed:
        raise ValueError("a file block is not closed (truncated answer?)")
    files: dict[str, str] = {}
    for b in blocks:
        if "file=" in b.info and _CONTROL.search(b.info):
            raise ValueError(f"file block path in {b.info!r} contains a control character")
        m = re.match(r"^(?:\w+\s+)?file=(\S+)$", b.info)
        if not m:
            continue
        raw = m.group(1)
        if "\\" in raw:
            raise ValueError(f"file block path {raw!r} contains a backslash; separate directories with /")
        path = PurePosixPath(raw)
        if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] == ".git":
            raise ValueError(f"file block path {raw!r} is outside the workspace")
        if "" in raw.split("/"):
            raise ValueError(f"file block path {raw!r} has an empty segment (// or a trailing /)")
        files[path.as_posix()] = b.body
    return files


DIMENSIONS = ("plan_quality", "review_usefulness", "implementation_drift", "trigger_correctness")
_EVIDENCE = re.compile(r"\S+:\d+|\S+#\S+|\S+\.md\b.*§|\S+\.md\s+\(.+\)")


def parse_evaluation(text: str) -> Parsed:
    """One fenced ``yaml`` block with 1-5 ``scores`` and a finding for every score below 4.

    The verdict is ``SCORED``; ``time_efficiency`` in the answer is ignored
    (devloop records it from the ledger).
    """

    if not text.strip():
        return Parsed(UNPARSEABLE, "the answer is empty")
    blocks, closed = fenced_blocks(text)
    if not closed:
        return Parsed(UNPARSEABLE, "a code block is not closed (truncated answer?)")
    yaml_blocks = [b for b in blocks if b.info.lower() in ("yaml", "yml")]
    if len(yaml_blocks) != 1:
        return Parsed(UNPARSEABLE, f"expected exactly one fenced yaml block, found {len(yaml_blocks)}")
    from devloop.runtime.safeyaml import YamlLimit, load  # lazy: loads yaml

    try:
        data = load(yaml_blocks[0].body)
    except YamlLimit as exc:
        return Parsed(UNPARSEABLE, f"the yaml block does not parse: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("scores"), dict):
        return Parsed(UNPARSEABLE, "the yaml block has no 'scores' mapping")
    scores = {}
    for dim in DIMENSIONS:
        value = data["scores"].get(dim)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            return Parsed(UNPARSEABLE, f"scores.{dim} must be an integer 1-5, got {value!r}")
        scores[dim] = value
    findings = data.get("findings") or []
    if not isinstance(findings, list):
        return Parsed(UNPARSEABLE, "findings must be a list")
    for dim, value in scores.items():
        if value >= 4:
            continue
        entries = [f for f in findings if isinstance(f, dict) and f.get("dimension") == dim]
        if not entries:
            return Parsed(UNPARSEABLE, f"{dim} scored {value} (< 4) without a finding")
        for f in entries:
            for key in ("evidence", "impact", "suggestion"):
                if not str(f.get(key) or "").strip():
                    return Parsed(UNPARSEABLE, f"the {dim} finding has no {key}")
            if not _EVIDENCE.search(str(f["evidence"])):
                return Parsed(UNPARSEABLE, f"the {dim} finding's evidence must cite file:line or an artifact section")
    return Parsed("SCORED", extra={"scores": scores})


CLAIM = Keyword(
    "claim verdict",
    "CLAIM <n>: CONFIRMED|REJECTED",
    re.compile(
        r"^CLAIM\s*#?\s*(?P<n>[0-9]{1,9})\s*:\s*(?P<value>CONFIRMED|REJECTED)\b\s*(?:[—–:-]+\s*)?(?P<rest>.*)$",
        re.IGNORECASE | re.ASCII,
    ),
    (
        re.compile(
            rf"\bclaim\s*#?\s*(?P<n>[0-9]{{1,9}})\b(?:{_Q}[:=])?(?:{_Q1}{_WORD}){{0,2}}?{_Q}\b(?:confirmed|rejected)\b",
            re.IGNORECASE | re.ASCII,
        ),
        re.compile(r"^[\s>*_`]*claim\s*#?\s*(?P<n>[0-9]{1,9})\s*[*_`]*\s*[:=]", re.IGNORECASE | re.ASCII),
    ),
)


def parse_verifier(text: str, claims: int) -> Parsed:
    """``CLAIM <n>: CONFIRMED`` / ``CLAIM <n>: REJECTED — reason`` lines, one per numbered claim.

    Each claim follows the keyword-line grammar on its own: a claim with no
    verdict line, more than one, or a stray mention of its verdict (fenced,
    quoted, commented, indented, in prose) is left out of ``verdicts`` and
    named in ``reason``, so the caller keeps it blocking. No verdict line at
    all is UNPARSEABLE.
    """
    lines, problem = readable(text)
    if problem:
        return Parsed(UNPARSEABLE, problem)
    hits, strays = keyword_lines(lines, CLAIM)
    in_range = [h for h in hits if 1 <= int(h.subject) <= claims]
    if not in_range:
        return Parsed(UNPARSEABLE, ambiguity(CLAIM, strays, []) if strays else _missing(CLAIM))
    verdicts: dict[str, dict[str, str]] = {}
    unknown: list[str] = []
    subjects = {int(h.subject) for h in in_range} | {int(s.subject) for s in strays if 1 <= int(s.subject) <= claims}
    for n in sorted(subjects):
        mine = [h for h in in_range if int(h.subject) == n]
        stray = [s for s in strays if int(s.subject) == n]
        if stray:
            unknown.append(
                f"claim {n}: ambiguous, also mentioned at " + ", ".join(f"line {s.line} ({s.where})" for s in stray)
            )
        elif len(mine) > 1:  # a subject is a stray's or a verdict line's: here it has one at least
            unknown.append(f"claim {n}: more than one CLAIM {n} line (lines {', '.join(str(h.line) for h in mine)})")
        else:
            verdicts[str(n)] = {"verdict": mine[0].value.upper(), "reason": mine[0].rest}
    return Parsed("VERIFIED", reason="; ".join(unknown), extra={"verdicts": verdicts})
