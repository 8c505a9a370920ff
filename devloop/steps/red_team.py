"""Step 3.5: red teams attack the plan (only when its risk calls for it), then validation pass 2 and a gate.

Teams get an identical prompt and run in parallel; their findings are
deduplicated and graded into red-team.md. The planner then revises
validation.md so that every must-fix and should-fix finding is covered, which
devloop checks by id, and implementation waits for ``devloop approve <f> red-team``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from devloop.config.workspace import Workspace
from devloop.judging.answers import UNPARSEABLE, Parsed
from devloop.judging.redteam import RTFinding, merge, missing_references, parse_red_team, render_report, required_ids
from devloop.provenance.hashing import hash_file
from devloop.provenance.state import FeatureLock
from devloop.runtime.errors import StepFailed
from devloop.steps.base import Ask, Done, Step, waiting_on
from devloop.steps.plan_docs import block_problem, risk_tags
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun


def triggered(ws: Workspace, feature: str, forced: bool) -> tuple[bool, str]:
    """Whether the red team runs for this feature, and why (recorded either way)."""
    if forced:
        return True, "requested with devloop redo"
    feature_cfg = ws.config.features.get(feature)
    if feature_cfg is not None and feature_cfg.red_team is not None:
        return feature_cfg.red_team, f"features.{feature}.red_team is {str(feature_cfg.red_team).lower()}"
    pol = ws.config.steps.red_team
    if pol.when != "auto":
        return pol.when == "always", f"steps.red_team.when is {pol.when}"
    tags = risk_tags(read_text(ws, f"plans/{feature}/plan.md"))
    hits = sorted(set(tags) & set(pol.risk_tags))
    if hits:
        return True, f"plan.md risk tags: {', '.join(hits)}"
    return False, "no red-team risk tag in plan.md front matter" + (f" (has: {', '.join(tags)})" if tags else "")


def _team_parser(team: str) -> Any:
    def parse(text: str) -> Parsed:
        findings, reason = parse_red_team(text, team)
        if findings is None:
            return Parsed(UNPARSEABLE, reason)
        return Parsed("FINDINGS", extra={"rt_findings": [asdict(f) for f in findings]})

    return parse


class RedTeamStep(Step):
    name = "red_team"
    roles = ("red_team", "planner")
    templates = ("red_team.md.j2", "validation_pass2.md.j2")
    policy = "red_team"

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        return [f"plans/{feature}/brief.md", f"plans/{feature}/plan.md", f"plans/{feature}/validation.md"]

    def run(self, run: StepRun) -> Done:
        ws, f = run.ws, run.feature
        on, why = triggered(ws, f, run.forced_by == "redo")
        if not on:
            return Done(f"(skipped: {why})", [], {"skipped": True, "reason": why})
        teams = list(ws.config.roles.red_team)
        prompt = render(
            ws,
            "red_team.md.j2",
            feature=f,
            brief=read_text(ws, f"plans/{f}/brief.md"),
            plan=read_text(ws, f"plans/{f}/plan.md"),
            validation=read_text(ws, f"plans/{f}/validation.md"),
        )
        answers = self._teams(run, teams, prompt)
        findings = [RTFinding(**x) for data in answers.values() for x in data["rt_findings"]]
        merged = merge(findings)
        report = f"plans/{f}/red-team.md"
        run.write(report, render_report(f, merged, teams))
        validation = f"plans/{f}/validation.md"
        required = required_ids(merged)
        if required:
            self._pass2(run, report, validation, required)
        subject = {report: hash_file(ws.root / report), validation: hash_file(ws.root / validation)}
        counts = {g: sum(1 for m in merged if m.grade == g) for g in ("must-fix", "should-fix", "acceptable")}
        detail = f"red team found {counts['must-fix']} must-fix, {counts['should-fix']} should-fix; read {report}"
        run.gate("red-team", subject, detail, report)
        outputs = [report, *(f"plans/{f}/red-team-{t}.md" for t in teams)]
        return Done(report, outputs, {"reason": why, "teams": teams, "findings": counts, "required": required})

    def _teams(self, run: StepRun, teams: list[str], prompt: str) -> dict[str, dict[str, Any]]:
        def ask(team: str, call_id: str) -> Ask:
            path = f"plans/{run.feature}/red-team-{team}.md"
            return Ask(call_id, "red_team", prompt, path, _team_parser(team), 1, team)

        results = dict(zip(teams, run.ask_all([ask(t, f"team-{t}") for t in teams], "red team"), strict=True))
        for attempt in range(1, run.ws.config.steps.red_team.retries + 1):
            again = [t for t, r in results.items() if r.status in ("did_not_run", "unparseable")]
            if not again:
                break
            retried = run.ask_all([ask(t, f"team-{t}-retry{attempt}") for t in again], "red team retry")
            results.update(zip(again, retried, strict=True))
        stop = waiting_on(list(results.values()))
        if stop is not None:
            raise stop
        failed = {t: r for t, r in results.items() if r.status != "answered" or r.data is None}
        if failed:
            why = "; ".join(f"{t}: {r.status} ({r.detail})" for t, r in failed.items())
            fix = run.fix_for(failed) if all(r.status == "did_not_run" for r in failed.values()) else ""
            raise StepFailed(f"red team did not complete: {why}", retry=True, fix=fix)
        return {t: r.data for t, r in results.items() if r.data is not None}

    def _pass2(self, run: StepRun, report: str, validation: str, required: list[str]) -> None:
        """The planner covers every must-fix/should-fix finding in validation.md; devloop checks the ids."""
        f = run.feature
        missing = required
        for attempt in range(2):
            prompt = render(
                run.ws,
                "validation_pass2.md.j2",
                feature=f,
                report=read_text(run.ws, report),
                validation_path=validation,
                required=required,
                missing=missing if attempt else [],
            )
            call = "validation-pass2" if attempt == 0 else "validation-pass2-again"
            run.author(call, "planner", prompt, [validation], revise=True)
            run.accept_upstream("plan_review", [validation])  # part of this loop, not a new plan to review
            problem = block_problem(run.ws, validation)
            if problem:
                raise run.rejected(call, problem, [validation])
            missing = missing_references(read_text(run.ws, validation), required)
            if not missing:
                return
        why = f"{validation} still does not reference {', '.join(missing)} after validation pass 2"
        raise run.rejected("validation-pass2-again", why, [validation])
