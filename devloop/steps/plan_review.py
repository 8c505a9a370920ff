"""Steps 2-3: review rounds with planner revisions in between, then escalation.

Round files are numbered across runs (``review-<agent>-round<N>.md``) and never
overwritten, so every round stays side by side for the audit trail.
"""

from __future__ import annotations

import re
from typing import Any

from devloop.config.workspace import Workspace
from devloop.judging.answers import parse_plan_review
from devloop.judging.lint import lint_plan, render_flags
from devloop.provenance.hashing import hash_file
from devloop.provenance.state import FeatureLock
from devloop.steps.base import Done, Step
from devloop.steps.files import next_round
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun

_ROUND = re.compile(r"^review-.+-round(\d+)\.md$")


class PlanReviewStep(Step):
    name = "plan_review"
    roles = ("plan_reviewer", "planner")
    templates = ("plan_review.md.j2", "plan_revise.md.j2")
    policy = "plan_review"

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        return [f"plans/{feature}/brief.md", f"plans/{feature}/plan.md", f"plans/{feature}/validation.md"]

    def run(self, run: StepRun) -> Done:
        ws, f = run.ws, run.feature
        plan, validation = f"plans/{f}/plan.md", f"plans/{f}/validation.md"
        reviewer = ws.config.roles.plan_reviewer
        max_rounds = ws.config.steps.plan_review.max_rounds
        first = run.scratch.setdefault("first_round", next_round(ws.feature_dir(f), _ROUND))
        reviews: list[str] = []
        rounds: list[dict[str, Any]] = []
        verdict: dict[str, Any] = {}
        for i in range(max_rounds):
            n = first + i
            review_path = f"plans/{f}/review-{reviewer}-round{n}.md"
            flags = lint_plan(read_text(ws, plan), ws.config.steps.plan_review.lint_max_code_lines)
            lint = render_flags(plan, flags)
            prompt = render(
                ws,
                "plan_review.md.j2",
                feature=f,
                round=n,
                lint=lint,
                brief=read_text(ws, f"plans/{f}/brief.md"),
                plan=read_text(ws, plan),
                validation=read_text(ws, validation),
                previous=[(p, read_text(ws, p)) for p in reviews],
                answer_path=review_path,
            )
            verdict = run.ask(f"round{n}-review", "plan_reviewer", prompt, review_path, parse_plan_review, rnd=n)
            reviews.append(review_path)
            rounds.append({"round": n, "path": review_path, "lint": lint, "flags": len(flags), **verdict})
            record = f"plans/{f}/plan-review.md"
            run.write(record, render_plan_record(f, rounds))
            if verdict["verdict"] == "APPROVE":
                data = {"verdict": "APPROVE", "rounds": len(reviews), "first_round": first, "lint_flags": len(flags)}
                return Done(review_path, [*reviews, record], data)
            if i == max_rounds - 1:
                break
            prompt = render(
                ws,
                "plan_revise.md.j2",
                feature=f,
                round=n,
                review_path=review_path,
                review=read_text(ws, review_path),
                plan_path=plan,
                validation_path=validation,
            )
            run.author(
                f"round{n}-revise",
                "planner",
                prompt,
                expected=[plan, validation],
                rnd=n,
                revise=True,
            )
        escalation = f"plans/{f}/escalation-plan.md"
        run.write(escalation, _escalation_note(f, reviews, verdict, max_rounds))
        subject = {plan: hash_file(ws.root / plan), validation: hash_file(ws.root / validation)}
        run.gate(
            "plan",
            subject,
            f"plan review still divergent after {max_rounds} round(s); read {escalation}",
            escalation,
        )
        outputs = [*reviews, escalation, f"plans/{f}/plan-review.md"]
        return Done(escalation, outputs, {"verdict": "ESCALATED", "approved_by_human": True, "rounds": len(reviews)})


def _escalation_note(feature: str, reviews: list[str], verdict: dict[str, Any], max_rounds: int) -> str:
    lines = [
        f"# Plan review escalation: {feature}",
        "",
        f"The reviewer still asks for revisions after {max_rounds} round(s). Both views:",
        "",
        f"- **Planner's view**: the current `plans/{feature}/plan.md` and `validation.md`.",
        f"- **Reviewer's view**: the last review, `{reviews[-1]}`, with these findings:",
        "",
    ]
    findings = verdict.get("findings") or []
    lines += [f"  - [{x['severity']}] {x['file']}:{x['line']} — {x['text']}" for x in findings] or [
        "  - (no structured findings; read the review)"
    ]
    lines += [
        "",
        "Rounds so far: " + ", ".join(f"`{r}`" for r in reviews),
        "",
        f"Decide: edit the plan (the review re-runs), or accept it with `devloop approve {feature} plan`.",
        "",
    ]
    return "\n".join(lines)


def render_plan_record(feature: str, rounds: list[dict[str, Any]]) -> str:
    """plans/<f>/plan-review.md: per round, who reviewed, the verdict, the findings and the boundary lint."""
    out = [f"# Plan review record: {feature}", ""]
    for r in rounds:
        model = f" ({r['model']})" if r.get("model") else ""
        out += [f"## Round {r['round']}", "", f"- Reviewer: {r.get('agent')}{model}", f"- Verdict: {r['verdict']}"]
        out.append(f"- Answer: `{r['path']}`")
        out.append("- Findings:" if r.get("findings") else "- Findings: none")
        out += [f"  - [{x['severity']}] `{x['file']}:{x['line']}` — {x['text']}" for x in r.get("findings") or []]
        out += [f"- Boundary lint: {r['lint']}", ""]
    return "\n".join(out)
