"""Step 8: a fresh evaluator scores the run against the rubric; devloop measures time efficiency.

The answer is validated beyond its format: every score below 4 must cite
evidence that exists (the file, and the line when one is given). A rejected
evaluation is asked for once more, then the step fails with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from devloop.config.workspace import Workspace
from devloop.judging.answers import UNPARSEABLE, Parsed, parse_evaluation
from devloop.provenance import ledger
from devloop.provenance.costs import totals
from devloop.provenance.state import FeatureLock
from devloop.runtime.errors import StepFailed
from devloop.steps.base import Ask, Done, Step, waiting_on
from devloop.steps.change import code_files
from devloop.steps.code_view import check_location, git_diff
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun

UPSTREAM = ("plan", "plan_review", "red_team", "implement", "code_review", "deploy_review", "smoke")
_EVIDENCE = re.compile(r"(?P<path>[\w./-]+\.\w+)(?::(?P<line>\d+)|#\S+)?")


def evidence_problem(ws: Workspace, evidence: str) -> str | None:
    """Why a finding's evidence does not point at something real, or None."""
    m = _EVIDENCE.search(evidence)
    if not m:
        return f"evidence {evidence!r} names no file"
    path, line = m.group("path"), m.group("line")
    if not (ws.root / path).is_file():
        return f"evidence {path} does not exist"
    if line:
        problem = check_location(ws, path, int(line))
        return f"evidence {path}:{line}: {problem}" if problem else None
    return None


def validated(ws: Workspace) -> Any:
    def parse(text: str) -> Parsed:
        parsed = parse_evaluation(text)
        if not parsed.ok:
            return parsed
        from devloop.runtime.safeyaml import load  # lazy: loads yaml

        block = re.search(r"```ya?ml\n(.*?)```", text, re.S)
        data = load(block.group(1)) if block else {}
        for f in (data or {}).get("findings") or []:
            if isinstance(f, dict) and parsed.extra["scores"].get(f.get("dimension"), 5) < 4:
                problem = evidence_problem(ws, str(f.get("evidence") or ""))
                if problem:
                    return Parsed(UNPARSEABLE, f"{f.get('dimension')}: {problem}")
        return parsed

    return parse


MEASURED_AT_RUN_TIME = "(measured by devloop when the evaluator is asked)"


class EvaluateStep(Step):
    name = "evaluate"
    roles = ("evaluator",)
    templates = ("evaluate.md.j2", "rubric.md")

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        paths = {f"plans/{feature}/brief.md"}
        for step in UPSTREAM:
            paths.update(lock.outputs(step))
        run_dir = lock.data("smoke").get("run")
        if run_dir:
            paths.add(f"{run_dir}/smoke.log")
        return sorted(paths)

    def declared_outputs(self, ws: Workspace, feature: str) -> list[str]:
        return [f"plans/{feature}/evaluation.md"]

    def run(self, run: StepRun) -> Done:
        ws, f = run.ws, run.feature
        answer = f"plans/{f}/evaluation.md"
        timing = time_efficiency(ws, f, run.lock)
        inputs = self.inputs(ws, f, run.lock)
        runs = sorted(p.relative_to(ws.root).as_posix() for p in ws.root.glob(f"runs/*-{f}/*.md"))
        base = run.lock.data("implement").get("base_commit")
        parts = {
            "feature": f,
            "rubric": ws.template_path("rubric.md").read_text(encoding="utf-8"),
            "artifacts": [p for p in inputs if not p.startswith(("src/", "lib/")) and "/" in p] + runs,
            "code": code_files(ws, f, run.lock),
            "diff": git_diff(ws, base, f, run.lock),
            "answer_path": answer,
        }
        prompt = render(ws, "evaluate.md.j2", timing=render_time(timing), **parts)
        # The measured times are context, not the question: an answer to the same work is restored whatever they are.
        keyed = render(ws, "evaluate.md.j2", timing=MEASURED_AT_RUN_TIME, **parts)
        parse = validated(ws)
        (res,) = run.ask_all([Ask("evaluate", "evaluator", prompt, answer, parse, key_prompt=keyed)], "evaluate")
        if res.status == "unparseable" and not _manual(run):
            again = f"\n\nYour previous evaluation was rejected: {res.detail}. Answer again, complete.\n"
            ask = Ask("evaluate-retry", "evaluator", prompt + again, answer, parse, key_prompt=keyed + again)
            (res,) = run.ask_all([ask], "evaluate retry")
        stop = waiting_on([res])
        if stop is not None:
            raise stop
        if res.status != "answered" or res.data is None:
            raise StepFailed(f"the evaluation was rejected: {res.detail}", retry=True, fix=res.fix)
        scores = res.data.get("scores") or {}
        text = read_text(ws, answer)
        run.write(answer, with_record(text, scores, timing))
        return Done(answer, [answer], {"scores": scores, "time": timing["totals"]})


def _manual(run: StepRun) -> bool:
    cfg = run.ws.config.agents.get(run.ws.config.roles.evaluator)
    return cfg is not None and cfg.kind == "manual"


def time_efficiency(ws: Workspace, feature: str, lock: FeatureLock) -> dict[str, Any]:
    """Measured, not scored: per step the wall time (lock), agent calls, agent time and cost (ledger)."""
    entries = ledger.of_feature(ws.root, feature)
    by_step = totals(entries, "step")
    steps = {}
    for name in UPSTREAM:
        rec = lock.record(name)
        t = by_step.get(name)
        data = rec.data if rec else {}
        steps[name] = {
            "wall_s": rec.duration_s if rec else 0.0,
            "calls": t.calls if t else 0,
            "agent_s": round(t.seconds, 1) if t else 0.0,
            "person_s": round(t.person_seconds, 1) if t else 0.0,
            "cost": t.cost_text() if t else "-",
            "rounds": data.get("rounds") or data.get("cycles") or "",
        }
    allt = totals(entries, "all").get("all")
    summary = {
        "calls": allt.calls if allt else 0,
        "agent_s": round(allt.seconds, 1) if allt else 0.0,
        "person_s": round(allt.person_seconds, 1) if allt else 0.0,
        "wall_s": round(sum(float(s["wall_s"] or 0) for s in steps.values()), 1),
        "cost": allt.cost_text() if allt else "-",
    }
    return {"steps": steps, "totals": summary}


def render_time(timing: dict[str, Any]) -> str:
    head = "| step | wall (s) | calls | agent time (s) | a person's time (s) | rounds | cost |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for name, s in timing["steps"].items():
        cells = [name, s["wall_s"], s["calls"], s["agent_s"], s.get("person_s", 0.0), s["rounds"], s["cost"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    t = timing["totals"]
    cells = ["**total**", t["wall_s"], t["calls"], t["agent_s"], t.get("person_s", 0.0), "", t["cost"]]
    lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def with_record(text: str, scores: dict[str, int], timing: dict[str, Any]) -> str:
    """evaluation.md: machine-readable front matter, the evaluator's answer, then the measured time."""
    body = re.sub(r"\A---\n.*?\n---\n+", "", text, flags=re.S)
    body = body.split("\n## Time efficiency (measured by devloop, not scored)")[0].rstrip()
    front = ["---", "scores:"] + [f"  {k}: {v}" for k, v in scores.items()]
    t = timing["totals"]
    front += [f"agent_calls: {t['calls']}", f"agent_seconds: {t['agent_s']}"]
    front += [f"person_seconds: {t.get('person_s', 0.0)}", f"wall_seconds: {t['wall_s']}"]
    front += [f"cost: {t['cost']!r}", "---", ""]
    tail = ["", "", "## Time efficiency (measured by devloop, not scored)", "", render_time(timing), ""]
    return "\n".join(front) + body + "\n".join(tail)
