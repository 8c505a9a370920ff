"""Step 5: the Production-Grade cycle (seed 000).

N reviewers judge the same prompt in parallel; every ``file:line`` claim is
checked mechanically, then by the verifier; confirmed blocking claims go back
to the (pinned) implementer, and the cycle runs again, up to a cap. A reviewer
that does not run is retried, then substituted from the ad-hoc pool; too many
down at once is a hard stall.
"""

from __future__ import annotations

import re
from typing import Any

from devloop.config.workspace import Workspace
from devloop.judging.answers import parse_code_review, parse_verifier
from devloop.judging.review import policy as P
from devloop.judging.review.record import render as render_record
from devloop.provenance.hashing import hash_file
from devloop.provenance.state import FeatureLock
from devloop.runtime.errors import StepFailed
from devloop.steps.base import Ask, AskResult, Done, Step, waiting_on
from devloop.steps.change import Shown, change_of, code_files, fit, is_loop_file
from devloop.steps.change import diff as change_diff
from devloop.steps.change import notes as change_notes
from devloop.steps.change import shown as change_shown
from devloop.steps.code_view import check_location, numbered
from devloop.steps.files import next_round
from devloop.steps.gates import run_gates
from devloop.steps.prompts import read_text, render
from devloop.steps.run import StepRun

_ROUND = re.compile(r"^round(\d+)-.+\.md$")


class StallError(StepFailed):
    """Too many reviewers down: no merge verdict can be given."""


def shown_change(ws: Workspace, feature: str, lock: FeatureLock, base: str | None) -> Shown:
    """The change as a code reviewer sees it: diff and whole files (numbered), the smoke script once, in budget."""
    change = change_of(ws, feature, lock)
    paths = list(dict.fromkeys([*change_shown(change), f"scripts/smoke/{feature}.sh"]))
    paths = [p for p in paths if (ws.root / p).is_file()]
    texts = {p: numbered(ws, p) for p in paths}
    return fit(paths, texts, change_diff(ws, base, change), ws.config.max_code_chars)


class CodeReviewStep(Step):
    name = "code_review"
    roles = ("reviewers", "adhoc", "verifier", "implementer", "implementer_rotation")
    templates = ("code_review.md.j2", "code_fix.md.j2", "verify.md.j2")
    policy = "code_review"

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        fixed = [f"plans/{feature}/{n}" for n in ("plan.md", "validation.md", "deviations.md")]
        return sorted({*fixed, f"scripts/smoke/{feature}.sh", *code_files(ws, feature, lock)})

    def run(self, run: StepRun) -> Done:
        ws, f, cfg = run.ws, run.feature, run.ws.config
        pol = cfg.steps.code_review
        impl_data = run.lock.data("implement")
        implementer = impl_data.get("implementer") or cfg.roles.implementer
        human = implementer == "hand" or _manual(run, implementer)  # a person may review their own work
        seats, notes = P.reviewer_seats(list(cfg.roles.reviewers), list(cfg.roles.adhoc), "" if human else implementer)
        if not seats:
            raise StepFailed("no reviewer left: every configured reviewer is the implementer; add roles.adhoc")
        first = run.scratch.setdefault("first_round", next_round(ws.feature_dir(f) / "reviews", _ROUND))
        gates = impl_data.get("gates") or []
        cycles: list[dict[str, Any]] = []
        carried: dict[str, P.Reviewer] = {}
        for c in range(pol.max_cycles):
            k = first + c
            prompt, shown = self._prompt(run, k, gates, cycles, impl_data.get("base_commit"))
            to_run = [s for s in seats if s not in carried]
            reviewers = self._review(run, k, to_run, prompt, implementer, seats)
            reviewers = [carried[s] if s in carried else next(r for r in reviewers if r.slot == s) for s in seats]
            claims = self._claims(run, k, reviewers)
            green = all(g["passed"] for g in gates)
            d = P.decide(reviewers, claims, pol.fix, pol.quorum, pol.stall_at, green)
            cycle = _cycle_record(c + 1, k, reviewers, claims, pol.fix, gates, d, run.scratch.get(f"verifier{k}"))
            cycle["shown"] = shown.summary()
            cycles.append(cycle)
            if d.outcome == "pass":
                record = self._write_record(run, len(seats), cycles, notes)
                return Done(
                    record, self._outputs(run, cycles, record), {"verdict": "PRODUCTION_GRADE", **_tally(cycles)}
                )
            if d.outcome == "stall":
                self._write_record(run, len(seats), cycles, notes)
                down = [n for r in reviewers if r.state in P.DOWN for n in (r.slot, r.agent)]
                fix = run.fix_for(down) if all(r.state == P.DID_NOT_RUN for r in reviewers if r.state in P.DOWN) else ""
                raise StallError(
                    f"{d.reason}; fix their availability (or roles.adhoc), then run doit", retry=True, fix=fix
                )
            if c == pol.max_cycles - 1:
                break
            blocking = [x for x in cycle["claims"] if x["blocks"]]
            changed = self._fix(run, k, implementer, blocking, reviewers, gates)
            cycle["fix"] = changed
            if f"gates{k}" not in run.scratch:  # re-run after the fix, once: a resumed run reads the result
                run.scratch[f"gates{k}"] = run_gates(run, f"round{k}-fix")
                run.save()
            gates = run.scratch[f"gates{k}"]
            carried = {r.slot: r for r in reviewers if r.ok(claims, pol.fix)} if pol.recheck == "raisers" else {}
            self._write_record(run, len(seats), cycles, notes)
        record = self._write_record(run, len(seats), cycles, notes)
        subject = {p: hash_file(ws.root / p) for p in self.inputs(ws, f, run.lock)}
        run.gate("code-review", subject, f"not PRODUCTION GRADE after {pol.max_cycles} cycle(s); read {record}", record)
        return Done(record, self._outputs(run, cycles, record), {"verdict": "ESCALATED", **_tally(cycles)})

    # -- one review round: parallel, retried, substituted ----------------------
    def _review(
        self, run: StepRun, k: int, slots: list[str], prompt: str, implementer: str, seats: list[str]
    ) -> list[P.Reviewer]:
        pol = run.ws.config.steps.code_review
        f = run.feature

        def ask(agent: str, call_id: str) -> Ask:
            path = f"plans/{f}/reviews/round{k}-{agent}.md"
            return Ask(call_id, "reviewers", prompt, path, parse_code_review, k, agent)

        results = dict(
            zip(slots, run.ask_all([ask(s, f"round{k}-{s}") for s in slots], f"review round {k}"), strict=True)
        )
        for attempt in range(1, pol.retries + 1):
            again = [
                s for s, r in results.items() if r.status in ("did_not_run", "unparseable") and not _manual(run, s)
            ]
            if not again:
                break
            retried = run.ask_all([ask(s, f"round{k}-{s}-retry{attempt}") for s in again], f"review round {k} retry")
            results.update(zip(again, retried, strict=True))
        _raise_if_waiting(results.values())
        for s, r in results.items():
            if r.status == "unparseable" and _manual(run, s):
                raise StepFailed(f"{r.ask.answer_path} is unparseable: {r.detail}", retry=True)
        reviewers = {s: _reviewer(s, s, r) for s, r in results.items()}
        down = [s for s, r in reviewers.items() if r.state in P.DOWN]
        if down and pol.substitute and len(down) < pol.stall_at:
            busy = {implementer, *seats}
            for s in down:
                sub = P.substitute(list(run.ws.config.roles.adhoc), busy)
                if sub is None:
                    reviewers[s].notes.append("no ad-hoc agent left to substitute")
                    continue
                busy.add(sub)
                (res,) = run.ask_all([ask(sub, f"round{k}-{sub}")], f"review round {k} substitute")
                _raise_if_waiting([res])
                why = reviewers[s].detail or reviewers[s].state
                reviewers[s] = _reviewer(s, sub, res)
                reviewers[s].notes.append(f"substitute for {s} ({why})")
        return [reviewers[s] for s in slots]

    # -- claims: mechanical check, then the verifier --------------------------------
    def _claims(self, run: StepRun, k: int, reviewers: list[P.Reviewer]) -> list[P.Claim]:
        claims: list[P.Claim] = []
        for r in reviewers:
            claims += P.claims_from(r, len(claims) + 1)
        for c in claims:
            c.location = check_location(run.ws, c.file, c.line) or "ok"
            c.whole = c.location != "ok" and c.severity in P.RELOCATED
        checkable = [c for c in claims if c.location == "ok" or c.whole]
        if not checkable or not run.ws.config.steps.code_review.verify:
            return claims
        f = run.feature
        lost = any(c.whole and check_location(run.ws, c.file, 1) for c in checkable)  # the file itself is wrong
        prompt = render(
            run.ws,
            "verify.md.j2",
            feature=f,
            claims=[(c, _excerpt(run.ws, c)) for c in checkable],
            code=[(p, numbered(run.ws, p)) for p in code_files(run.ws, f, run.lock)] if lost else [],
            plan=read_text(run.ws, f"plans/{f}/plan.md"),
        )
        path = f"plans/{f}/reviews/round{k}-verifier.md"
        ask = Ask(f"round{k}-verify", "verifier", prompt, path, lambda t: parse_verifier(t, len(checkable)), k)
        (res,) = run.ask_all([ask], f"verify round {k}")
        _raise_if_waiting([res])
        if res.status != "answered" or res.data is None:
            run.scratch[f"verifier{k}"] = f"did not verify ({res.detail or res.status}); every claim stands"
            return claims
        run.scratch[f"verifier{k}"] = f"{res.data.get('agent')} answered in `{path}`"
        verdicts = res.data.get("verdicts") or {}
        for i, c in enumerate(checkable, 1):
            v = verdicts.get(str(i))
            if v:
                c.verdict, c.reason = v["verdict"], v.get("reason", "")
        return claims

    # -- fix round, prompt, record ----------------------------------------------
    def _fix(
        self,
        run: StepRun,
        k: int,
        implementer: str,
        blocking: list[dict[str, Any]],
        reviewers: list[P.Reviewer],
        gates: list[dict[str, Any]],
    ) -> list[str]:
        f = run.feature
        unsubstantiated = [r.answer for r in reviewers if r.state == P.NEEDS_WORK and r.answer]
        prompt = render(
            run.ws,
            "code_fix.md.j2",
            feature=f,
            round=k,
            blocking=blocking,
            reviews=[(p, read_text(run.ws, p)) for p in unsubstantiated],
            red_gates=[g for g in gates if not g["passed"]],
            deviations_path=f"plans/{f}/deviations.md",
        )
        expected = [f"plans/{f}/deviations.md"]
        changed = run.author(
            f"round{k}-fix",
            "implementer",
            prompt,
            expected,
            k,
            None if implementer == "hand" else implementer,  # code a person wrote is fixed by the role's agent
            watch=code_files(run.ws, f, run.lock),
            focus=_pointed_at(run.ws, blocking),
        )
        deleted = (run.memo(f"round{k}-fix") or {}).get("data", {}).get("deleted") or []
        run.lock.step("implement").add_outputs(changed, deleted)
        run.save()
        return changed

    def _prompt(
        self, run: StepRun, k: int, gates: list[dict[str, Any]], cycles: list[dict[str, Any]], base: Any
    ) -> tuple[str, Shown]:
        ws, f = run.ws, run.feature
        shown = shown_change(ws, f, run.lock, base)
        prompt = render(
            ws,
            "code_review.md.j2",
            feature=f,
            round=k,
            plan=read_text(ws, f"plans/{f}/plan.md"),
            validation=read_text(ws, f"plans/{f}/validation.md"),
            deviations=read_text(ws, f"plans/{f}/deviations.md"),
            diff=shown.diff,
            files=shown.files,
            shown_note=shown.summary(),
            notes=change_notes(ws, change_of(ws, f, run.lock)),
            gates=gates,
            previous=cycles,
        )
        return prompt, shown

    def _write_record(self, run: StepRun, seats: int, cycles: list[dict[str, Any]], notes: list[str]) -> str:
        rel = f"plans/{run.feature}/reviews.md"
        run.write(rel, render_record(run.feature, seats, cycles, run.ws.config.steps.code_review.fix, notes))
        return rel

    def _outputs(self, run: StepRun, cycles: list[dict[str, Any]], record: str) -> list[str]:
        out = {record}
        for c in cycles:
            out.update(r["answer"] for r in c["reviewers"] if r.get("answer"))
            if (run.ws.root / f"plans/{run.feature}/reviews/round{c['round']}-verifier.md").exists():
                out.add(f"plans/{run.feature}/reviews/round{c['round']}-verifier.md")
        return sorted(out)


def _excerpt(ws: Workspace, c: P.Claim) -> str | None:
    """The code a claim is judged against: around its line, the whole file when the line is wrong, or none."""
    if c.location == "ok":
        return numbered(ws, c.file, c.line)
    return None if check_location(ws, c.file, 1) else numbered(ws, c.file)


def _pointed_at(ws: Workspace, blocking: list[dict[str, Any]]) -> list[str]:
    """The workspace files the blocking findings name, in their order (a person fixing by hand edits these)."""

    named = [c.get("file") for c in blocking]
    return [
        p
        for p in dict.fromkeys(n for n in named if isinstance(n, str) and n)
        if not is_loop_file(p) and check_location(ws, p, 1) is None
    ]


def _manual(run: StepRun, agent: str) -> bool:
    cfg = run.ws.config.agents.get(agent)
    return cfg is not None and cfg.kind == "manual"


def _raise_if_waiting(results: Any) -> None:
    stop = waiting_on(list(results))
    if stop is not None:
        raise stop


def _reviewer(slot: str, agent: str, res: AskResult) -> P.Reviewer:
    if res.status == "answered" and res.data is not None:
        findings = list(res.data.get("findings") or [])
        return P.Reviewer(slot, agent, res.data["verdict"], res.model, res.ask.answer_path, findings=findings)
    state = P.UNPARSEABLE if res.status == "unparseable" else P.DID_NOT_RUN
    return P.Reviewer(slot, agent, state, res.model, "", res.detail)


def _cycle_record(
    n: int,
    k: int,
    reviewers: list[P.Reviewer],
    claims: list[P.Claim],
    fix: list[str],
    gates: list[dict[str, Any]],
    d: P.Decision,
    verifier: str | None,
) -> dict[str, Any]:
    return {
        "cycle": n,
        "round": k,
        "reviewers": [{k: v for k, v in r.__dict__.items() if k != "findings"} for r in reviewers],
        "claims": [{**c.__dict__, "blocks": c.blocks(fix)} for c in claims],
        "gates": gates,
        "verifier": verifier,
        "outcome": d.outcome,
        "reason": d.reason,
        "ok": d.ok,
    }


def _tally(cycles: list[dict[str, Any]]) -> dict[str, Any]:
    last = cycles[-1]
    return {"cycles": len(cycles), "production_grade": last["ok"], "seats": len(last["reviewers"])}
