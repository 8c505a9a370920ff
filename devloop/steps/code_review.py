"""Step 5: review the implementation, fix what blocks, review again; capped, then a gate.

One reviewer for now (the first of ``roles.reviewers``); findings' ``file:line``
references are checked mechanically before they may block.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from devloop.answers import parse_code_review
from devloop.prompts import read_text, render
from devloop.provenance.hashing import hash_file
from devloop.steps.base import Done, Step, StepRun, next_round
from devloop.steps.implement import feature_scope
from devloop.workspace import Workspace

BLOCKING = ("P0", "P1", "P2")
_ROUND = re.compile(r"^round(\d+)-.+\.md$")


def code_files(ws: Workspace, feature: str, lock: dict[str, Any]) -> list[str]:
    """The feature's code: what the implementer (and fix rounds) wrote, plus its ``paths:`` globs."""
    files: set[str] = set()
    for p in (lock["steps"].get("implement") or {}).get("outputs") or []:
        if not p.startswith(f"plans/{feature}/"):
            files.add(p)
    feature_cfg = ws.config_view.get("features", {}).get(feature) or {}
    for pattern in feature_cfg.get("paths") or []:
        files.update(p.relative_to(ws.root).as_posix() for p in ws.root.glob(pattern) if p.is_file())
    return sorted(files)


def check_location(ws: Workspace, file: str, line: int) -> str | None:
    """Why a finding's ``file:line`` cannot be right, or None when it can."""
    path = PurePosixPath(file)
    if path.is_absolute() or ".." in path.parts:
        return "path outside the workspace"
    target = ws.root / path
    if not target.is_file():
        return "file does not exist"
    n = len(target.read_bytes().splitlines())
    if not 1 <= line <= max(n, 1):
        return f"line {line} is outside 1..{n}"
    return None


def numbered(ws: Workspace, rel: str) -> str:
    text = read_text(ws, rel)
    return "\n".join(f"{i:5d}  {line}" for i, line in enumerate(text.splitlines(), 1))


class CodeReviewStep(Step):
    name = "code_review"
    summary = "step 5: code review and fix cycles until PRODUCTION GRADE, then a gate if capped"
    roles = ("reviewers", "implementer")
    templates = ("code_review.md.j2", "code_fix.md.j2")
    policy = "code_review"

    def inputs(self, ws: Workspace, feature: str, lock: dict[str, Any]) -> list[str]:
        fixed = [f"plans/{feature}/{n}" for n in ("plan.md", "validation.md", "deviations.md")]
        return sorted(set([*fixed, f"scripts/smoke/{feature}.sh", *code_files(ws, feature, lock)]))

    def run(self, run: StepRun) -> Done:
        ws, f = run.ws, run.feature
        reviewer = ws.config.roles.reviewers[0]
        max_cycles = ws.config.steps.code_review.max_cycles
        first = run.journal.setdefault("first_round", next_round(ws.feature_dir(f) / "reviews", _ROUND))
        gates = ((run.lock["steps"].get("implement") or {}).get("data") or {}).get("gates") or []
        cycles: list[dict[str, Any]] = []
        outputs: list[str] = []
        for c in range(max_cycles):
            k = first + c
            review_path = f"plans/{f}/reviews/round{k}-{reviewer}.md"
            files = code_files(ws, f, run.lock)
            prompt = render(
                ws,
                "code_review.md.j2",
                feature=f,
                round=k,
                plan=read_text(ws, f"plans/{f}/plan.md"),
                validation=read_text(ws, f"plans/{f}/validation.md"),
                deviations=read_text(ws, f"plans/{f}/deviations.md"),
                files=[(p, numbered(ws, p)) for p in [*files, f"scripts/smoke/{f}.sh"]],
                gates=gates,
                previous=cycles,
            )
            vote = run.ask(f"round{k}-review", "reviewers", prompt, review_path, parse_code_review, k, reviewer)
            outputs.append(review_path)
            cycle = _judge(ws, vote, k, reviewer, review_path)
            cycles.append(cycle)
            if cycle["passed"]:
                record = self._record(run, cycles)
                return Done(record, [*outputs, record], {"verdict": "PRODUCTION_GRADE", "cycles": len(cycles)})
            if c == max_cycles - 1:
                break
            prompt = render(
                ws,
                "code_fix.md.j2",
                feature=f,
                round=k,
                review_path=review_path,
                blocking=cycle["blocking"],
                review=read_text(ws, review_path),
                deviations_path=f"plans/{f}/deviations.md",
            )
            changed = run.author(
                f"round{k}-fix", "implementer", prompt, [f"plans/{f}/deviations.md"], k, scope=feature_scope(run)
            )
            cycle["fix"] = changed
            _credit_implementer(run, changed)
            self._record(run, cycles)
        record = self._record(run, cycles)
        subject = {p: hash_file(ws.root / p) for p in self.inputs(ws, f, run.lock)}
        run.gate("code-review", subject, f"still NEEDS WORK after {max_cycles} cycle(s); read {record}", record)
        return Done(record, [*outputs, record], {"verdict": "ESCALATED", "cycles": len(cycles)})

    def _record(self, run: StepRun, cycles: list[dict[str, Any]]) -> str:
        rel = f"plans/{run.feature}/reviews.md"
        run.write(rel, render_record(run.feature, cycles))
        return rel


def _credit_implementer(run: StepRun, changed: list[str]) -> None:
    """Code a fix round wrote belongs to the implementation: later edits to it re-trigger review."""
    impl = run.lock["steps"].setdefault("implement", {})
    impl["outputs"] = sorted(set(impl.get("outputs") or []) | set(changed))
    run.save()


def _judge(ws: Workspace, vote: dict[str, Any], k: int, reviewer: str, path: str) -> dict[str, Any]:
    checked = []
    for f in vote.get("findings") or []:
        problem = check_location(ws, f["file"], int(f["line"]))
        checked.append({**f, "location": problem or "ok"})
    blocking = [f for f in checked if f["location"] == "ok" and f["severity"] in BLOCKING]
    needs_work_without_reason = vote["verdict"] == "NEEDS_WORK" and not any(f["location"] == "ok" for f in checked)
    passed = not blocking and not needs_work_without_reason
    return {
        "round": k,
        "reviewer": reviewer,
        "agent": vote.get("agent"),
        "model": vote.get("model"),
        "vote": vote["verdict"],
        "findings": checked,
        "blocking": blocking,
        "passed": passed,
        "answer": path,
    }


def render_record(feature: str, cycles: list[dict[str, Any]]) -> str:
    """reviews.md: per cycle, who reviewed with which model, the vote, each finding's check, the fix."""
    out = [f"# Code review record: {feature}", ""]
    for c in cycles:
        model = f" ({c['model']})" if c.get("model") else ""
        out += [f"## Round {c['round']}", "", f"- Reviewer: {c['reviewer']} -> {c.get('agent')}{model}"]
        out += [f"- Vote: {c['vote'].replace('_', ' ')}", f"- Answer: `{c['answer']}`"]
        if c["findings"]:
            out.append("- Findings:")
            for f in c["findings"]:
                check = "location ok" if f["location"] == "ok" else f"not counted: {f['location']}"
                out.append(f"  - [{f['severity']}] {f['file']}:{f['line']} — {f['text']} ({check})")
        else:
            out.append("- Findings: none")
        if c.get("fix") is not None:
            out.append("- Fix applied: " + (", ".join(f"`{p}`" for p in c["fix"]) or "no files changed"))
        verdict = "PRODUCTION GRADE" if c["passed"] else "blocked"
        out += [f"- Result: {verdict}", ""]
    passed = sum(1 for c in cycles[-1:] if c["passed"])
    out += [f"Final PRODUCTION GRADE count: {passed}/1", ""]
    return "\n".join(out)
