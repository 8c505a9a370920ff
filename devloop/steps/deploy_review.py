"""Step 6: before a risky GCP deploy, a reviewer reads deploy/<feature>/ against the matching checklists."""

from __future__ import annotations

from devloop.after_deploy.gcpdetect import deploy_files, surfaces
from devloop.config.workspace import Workspace
from devloop.judging.answers import parse_code_review
from devloop.provenance.hashing import hash_file
from devloop.provenance.state import FeatureLock
from devloop.steps.base import Done, Step
from devloop.steps.change import code_files
from devloop.steps.code_view import check_location, git_diff, numbered
from devloop.steps.plan_docs import risk_tags
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun

BLOCKING = ("P0", "P1")


def wanted(ws: Workspace, feature: str) -> tuple[bool, str]:
    files = deploy_files(ws.root, feature)
    if not files:
        return False, f"no deploy/{feature}/ artifacts"
    when = ws.config.steps.deploy_review.when
    if when != "auto":
        return when == "always", f"steps.deploy_review.when is {when}"
    tags = risk_tags(read_text(ws, f"plans/{feature}/plan.md"))
    touched = surfaces(files)
    if tags:
        return True, f"plan.md risk tags: {', '.join(tags)}"
    if "iam" in touched:
        return True, "the deploy artifacts change IAM"
    return False, "no risk tags and no IAM change in the deploy artifacts"


class DeployReviewStep(Step):
    name = "deploy_review"
    roles = ("gcp_reviewer",)
    templates = ("deploy_review.md.j2",)
    policy = "deploy_review"

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        files = [p.relative_to(ws.root).as_posix() for p in deploy_files(ws.root, feature)]
        return [f"plans/{feature}/plan.md", *files]

    def run(self, run: StepRun) -> Done:
        ws, f = run.ws, run.feature
        on, why = wanted(ws, f)
        if not on and run.forced_by != "redo":
            return Done(f"(skipped: {why})", [], {"skipped": True, "reason": why})
        files = deploy_files(ws.root, f)
        lists = surfaces(files)
        answer = f"plans/{f}/review-gcp.md"
        prompt = render(
            ws,
            "deploy_review.md.j2",
            feature=f,
            plan=read_text(ws, f"plans/{f}/plan.md"),
            checklists=[(n, read_text(ws, ws.workspace_rel(ws.template_path(f"gcp/{n}.md")))) for n in lists],
            files=[(p.relative_to(ws.root).as_posix(), numbered(ws, p.relative_to(ws.root).as_posix())) for p in files],
            change=code_files(ws, f, run.lock),
            diff=git_diff(ws, run.lock.data("implement").get("base_commit"), f, run.lock),
            triage=run.triage_note(),
        )
        verdict = run.ask("review", "gcp_reviewer", prompt, answer, parse_code_review)
        # a wrong file:line is not a refutation: every blocking finding holds the gate for a person
        blocking = [x for x in verdict.get("findings") or [] if x["severity"] in BLOCKING]
        misplaced = [x for x in blocking if check_location(ws, x["file"], int(x["line"])) is not None]
        data = {"checklists": lists, "verdict": verdict["verdict"], "blocking": len(blocking), "reason": why}
        if blocking or verdict["verdict"] != "PRODUCTION_GRADE":
            subject = {p.relative_to(ws.root).as_posix(): hash_file(p) for p in files}
            detail = f"{len(blocking)} blocking finding(s) in the deploy review; read {answer}"
            if misplaced:
                detail += f" ({len(misplaced)} cite a place that does not exist: find where they apply)"
            run.gate("deploy", subject, detail, answer)
        return Done(answer, [answer], data)
