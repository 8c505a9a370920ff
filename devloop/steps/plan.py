"""Step 1: the planner turns the brief into plan.md and validation.md (pass 1)."""

from __future__ import annotations

from devloop.config.workspace import Workspace
from devloop.provenance.state import FeatureLock
from devloop.steps.base import Done, Step
from devloop.steps.plan_docs import block_problem
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun


class PlanStep(Step):
    name = "plan"
    roles = ("planner",)
    templates = ("plan.md.j2",)

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        return [f"plans/{feature}/brief.md"]

    def declared_outputs(self, ws: Workspace, feature: str) -> list[str]:
        return [f"plans/{feature}/plan.md", f"plans/{feature}/validation.md"]

    def vet(self, ws: Workspace, feature: str) -> str | None:
        """validation.md's check block must hold, whoever wrote it: its checks run after a deploy."""
        return block_problem(ws, f"plans/{feature}/validation.md")

    def run(self, run: StepRun) -> Done:
        f = run.feature
        plan, validation = self.declared_outputs(run.ws, f)
        prompt = render(
            run.ws,
            "plan.md.j2",
            feature=f,
            brief=read_text(run.ws, f"plans/{f}/brief.md"),
            plan_path=plan,
            validation_path=validation,
            triage=run.triage_note(),
        )
        run.author("plan", "planner", prompt, [plan, validation], revise=bool(run.triage_note()))
        problem = block_problem(run.ws, validation)
        if problem:
            raise run.rejected("plan", problem, [plan, validation])
        return Done(artifact=f"{plan}, {validation}", outputs=[plan, validation])
