"""Step 8: a fresh evaluator scores the run against the rubric; devloop adds time efficiency."""

from __future__ import annotations

from typing import Any

from devloop.answers import parse_evaluation
from devloop.prompts import render
from devloop.steps.base import Done, Step
from devloop.steps.run import StepRun
from devloop.workspace import Workspace

UPSTREAM = ("plan", "plan_review", "red_team", "implement", "code_review", "deploy_review")


class EvaluateStep(Step):
    name = "evaluate"
    summary = "step 8: a fresh evaluator scores the run with the rubric"
    roles = ("evaluator",)
    templates = ("evaluate.md.j2", "rubric.md")

    def inputs(self, ws: Workspace, feature: str, lock: dict[str, Any]) -> list[str]:
        paths = {f"plans/{feature}/brief.md"}
        for step in UPSTREAM:
            paths.update((lock["steps"].get(step) or {}).get("outputs") or [])
        return sorted(paths)

    def declared_outputs(self, ws: Workspace, feature: str) -> list[str]:
        return [f"plans/{feature}/evaluation.md"]

    def run(self, run: StepRun) -> Done:
        ws, f = run.ws, run.feature
        answer = f"plans/{f}/evaluation.md"
        artifacts = [p for p in self.inputs(ws, f, run.lock) if p.startswith(f"plans/{f}/")]
        prompt = render(
            ws,
            "evaluate.md.j2",
            feature=f,
            rubric=ws.template_path("rubric.md").read_text(encoding="utf-8"),
            artifacts=artifacts,
            code=[p for p in self.inputs(ws, f, run.lock) if not p.startswith("plans/")],
            answer_path=answer,
        )
        verdict = run.ask("evaluate", "evaluator", prompt, answer, parse_evaluation)
        timing = time_efficiency(run.lock)
        run.write(f"plans/{f}/evaluation-time.md", render_time(f, timing))
        outputs = [answer, f"plans/{f}/evaluation-time.md"]
        return Done(answer, outputs, {"scores": verdict.get("scores"), "time": timing})


def time_efficiency(lock: dict[str, Any]) -> dict[str, Any]:
    """Recorded, not scored: wall clock and agent calls per step, from the lock."""
    per_step = {}
    for name in UPSTREAM:
        rec = lock["steps"].get(name) or {}
        per_step[name] = {
            "calls": rec.get("calls", 0),
            "agent_seconds": rec.get("agent_seconds", 0.0),
            "duration_s": rec.get("duration_s", 0.0),
        }
    return {
        "steps": per_step,
        "calls": sum(s["calls"] or 0 for s in per_step.values()),
        "agent_seconds": round(sum(s["agent_seconds"] or 0 for s in per_step.values()), 3),
    }


def render_time(feature: str, timing: dict[str, Any]) -> str:
    lines = [
        f"# Time efficiency: {feature} (recorded by devloop, not scored)",
        "",
        "| step | agent calls | agent time (s) | step time (s) |",
        "|---|---|---|---|",
    ]
    for name, s in timing["steps"].items():
        lines.append(f"| {name} | {s['calls']} | {s['agent_seconds']} | {s['duration_s']} |")
    lines += ["", f"Total: {timing['calls']} agent calls, {timing['agent_seconds']} s of agent time.", ""]
    return "\n".join(lines)
