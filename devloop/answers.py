"""Parsers of the machine-readable parts of agent answers. Fail-closed.

Each parser accepts surrounding prose but returns a verdict only when the
answer states exactly one, outside quotes and code blocks. Anything else is
UNPARSEABLE with a reason, never a pass.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

UNPARSEABLE = "UNPARSEABLE"
SEVERITIES = ("P0", "P1", "P2", "P3")
MAX_ANSWER_CHARS = 2_000_000

_FENCE = re.compile(r"^\s*(```+|~~~+)(.*)$")
_FINDING = re.compile(
    r"^\s*[-*]\s*\[(P[0-3])\]\s*([^\s:]+):(\d+)\s*(?:[—–:-]+\s*)?(.*)$",
)


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


def split_blocks(text: str) -> tuple[list[str], list[Block], bool]:
    """Prose lines (outside fences and blockquotes), fenced blocks, and whether every fence closed."""
    prose: list[str] = []
    blocks: list[Block] = []
    fence: str | None = None
    info = ""
    body: list[str] = []
    for line in text.splitlines():
        m = _FENCE.match(line)
        if fence is None:
            if m:
                fence, info, body = m.group(1), m.group(2).strip(), []
            elif not line.lstrip().startswith(">"):
                prose.append(line)
        elif m and m.group(1).startswith(fence[0]) and len(m.group(1)) >= len(fence) and not m.group(2).strip():
            blocks.append(Block(info, "\n".join(body) + ("\n" if body else "")))
            fence = None
        else:
            body.append(line)
    return prose, blocks, fence is None


def _clean(line: str) -> str:
    """Drop markdown emphasis around a line (``**VOTE: X**``, ``__VOTE: X__``, backticks)."""
    return re.sub(r"[*`]", "", line).strip().strip("_").strip()


def answer_problem(text: str) -> str | None:
    """Why an answer cannot be read at all (empty, oversized, truncated), or None."""
    if not (text or "").strip():
        return "the answer is empty"
    if len(text) > MAX_ANSWER_CHARS:
        return f"the answer is longer than {MAX_ANSWER_CHARS} characters"
    if not split_blocks(text)[2]:
        return "a code block is not closed (truncated answer?)"
    return None


def _keyword_verdict(text: str, key: str, choices: dict[str, str]) -> Parsed:
    if problem := answer_problem(text):
        return Parsed(UNPARSEABLE, problem)
    prose = split_blocks(text)[0]
    found: set[str] = set()
    pattern = re.compile(rf"^{key}\s*:\s*(.+?)\s*\.?$", re.IGNORECASE)
    for line in prose:
        m = pattern.match(_clean(line))
        if not m:
            continue
        value = re.sub(r"[\s_]+", " ", m.group(1)).upper()
        if value not in choices:
            return Parsed(UNPARSEABLE, f"unknown {key} {m.group(1)!r}; expected one of: {', '.join(choices)}")
        found.add(choices[value])
    if not found:
        return Parsed(UNPARSEABLE, f"no '{key}: ...' line outside quotes and code blocks")
    if len(found) > 1:
        return Parsed(UNPARSEABLE, f"contradictory {key} lines: {', '.join(sorted(found))}")
    return Parsed(found.pop(), findings=parse_findings(prose))


def parse_findings(lines: list[str]) -> list[Finding]:
    out = []
    for line in lines:
        m = _FINDING.match(line)
        if m:
            out.append(Finding(m.group(1), m.group(2), int(m.group(3)), m.group(4).strip()))
    return out


def parse_plan_review(text: str) -> Parsed:
    """``VERDICT: APPROVE`` or ``VERDICT: REVISE`` plus ``- [P1] file:line — text`` findings."""
    return _keyword_verdict(text, "VERDICT", {"APPROVE": "APPROVE", "REVISE": "REVISE"})


def parse_code_review(text: str) -> Parsed:
    """``VOTE: PRODUCTION GRADE`` / ``VOTE: NEEDS WORK``, or one fenced json block."""
    choices = {"PRODUCTION GRADE": "PRODUCTION_GRADE", "NEEDS WORK": "NEEDS_WORK"}
    if len(text or "") > MAX_ANSWER_CHARS:
        return Parsed(UNPARSEABLE, f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    prose, blocks, closed = split_blocks(text or "")
    json_blocks = [b for b in blocks if b.info.lower() == "json"]
    has_vote_line = any(re.match(r"^VOTE\s*:", _clean(line), re.IGNORECASE) for line in prose)
    if closed and len(json_blocks) == 1 and not has_vote_line:
        return _json_vote(json_blocks[0].body, choices)
    return _keyword_verdict(text, "VOTE", choices)


def _json_vote(body: str, choices: dict[str, str]) -> Parsed:
    try:
        data = json.loads(body)
    except ValueError as exc:
        return Parsed(UNPARSEABLE, f"the json block does not parse: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("vote"), str):
        return Parsed(UNPARSEABLE, 'the json block has no string "vote"')
    vote = re.sub(r"[\s_]+", " ", data["vote"]).strip().upper()
    if vote not in choices:
        return Parsed(UNPARSEABLE, f"unknown vote {data['vote']!r}")
    raw = data.get("findings") or []
    if not isinstance(raw, list):
        return Parsed(UNPARSEABLE, '"findings" must be a list')
    findings = []
    for i, f in enumerate(raw):
        try:
            sev, line = str(f["severity"]).upper(), int(f["line"])
            if sev not in SEVERITIES:
                raise ValueError(sev)
            findings.append(Finding(sev, str(f["file"]), line, str(f.get("text", ""))))
        except (KeyError, TypeError, ValueError, OverflowError):
            return Parsed(UNPARSEABLE, f"finding {i} needs severity P0-P3, file, line")
    return Parsed(choices[vote], findings=findings)


def parse_file_blocks(text: str) -> dict[str, str]:
    """Files returned as fenced blocks with info string ``file=<path>`` (text-only agents).

    Paths must be relative and stay inside the workspace; anything else raises ValueError.
    """
    _, blocks, closed = split_blocks(text)
    if not closed:
        raise ValueError("a file block is not closed (truncated answer?)")
    files: dict[str, str] = {}
    for b in blocks:
        m = re.match(r"^(?:\w+\s+)?file=(\S+)$", b.info)
        if not m:
            continue
        path = PurePosixPath(m.group(1))
        if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] == ".git":
            raise ValueError(f"file block path {m.group(1)!r} is outside the workspace")
        files[path.as_posix()] = b.body
    return files


DIMENSIONS = ("plan_quality", "review_usefulness", "implementation_drift", "trigger_correctness")
_EVIDENCE = re.compile(r"\S+:\d+|\S+#\S+|\S+\.md\b.*§|\S+\.md\s+\(.+\)")


def parse_evaluation(text: str) -> Parsed:
    """One fenced ``yaml`` block with 1-5 ``scores`` and a finding for every score below 4.

    The verdict is ``SCORED``; ``time_efficiency`` in the answer is ignored
    (devloop records it from the ledger).
    """
    import yaml

    if not text.strip():
        return Parsed(UNPARSEABLE, "the answer is empty")
    _, blocks, closed = split_blocks(text)
    if not closed:
        return Parsed(UNPARSEABLE, "a code block is not closed (truncated answer?)")
    yaml_blocks = [b for b in blocks if b.info.lower() in ("yaml", "yml")]
    if len(yaml_blocks) != 1:
        return Parsed(UNPARSEABLE, f"expected exactly one fenced yaml block, found {len(yaml_blocks)}")
    try:
        data = yaml.safe_load(yaml_blocks[0].body)
    except yaml.YAMLError as exc:
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


_CLAIM = re.compile(r"^CLAIM\s*#?\s*(\d+)\s*:\s*(CONFIRMED|REJECTED)\b\s*(?:[—–:-]+\s*)?(.*)$", re.IGNORECASE)


def parse_verifier(text: str, claims: int) -> Parsed:
    """``CLAIM <n>: CONFIRMED`` / ``CLAIM <n>: REJECTED — reason`` lines, one per numbered claim.

    A claim with no verdict, or with contradictory verdicts, is left out of
    ``verdicts``: the caller keeps it blocking. No verdict line at all is
    UNPARSEABLE.
    """
    if problem := answer_problem(text):
        return Parsed(UNPARSEABLE, problem)
    prose = split_blocks(text)[0]
    seen: dict[int, set[str]] = {}
    reasons: dict[int, str] = {}
    for line in prose:
        m = _CLAIM.match(_clean(line))
        if not m:
            continue
        n = int(m.group(1))
        if not 1 <= n <= claims:
            continue
        seen.setdefault(n, set()).add(m.group(2).upper())
        if m.group(3).strip():
            reasons.setdefault(n, m.group(3).strip())
    if not seen:
        return Parsed(UNPARSEABLE, "no 'CLAIM <n>: CONFIRMED|REJECTED' line")
    verdicts = {
        str(n): {"verdict": next(iter(v)), "reason": reasons.get(n, "")} for n, v in seen.items() if len(v) == 1
    }
    return Parsed("VERIFIED", extra={"verdicts": verdicts})
