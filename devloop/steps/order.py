"""The loop's steps by name, in dependency order, with their one-line summaries.

All the doit graph needs, without importing the steps' code: the no-op
``doit`` builds every task from this and imports a step's module only when
that step has to be judged the slow way or run.
"""

from __future__ import annotations

SUMMARIES = {
    "plan": "step 1: the planner writes plan.md and validation.md from the brief",
    "plan_review": "steps 2-3: plan review rounds with revisions, then a gate if still divergent",
    "red_team": "step 3.5: red teams attack risky plans in parallel, validation pass 2, then the red-team gate",
    "implement": "step 4: the implementer writes code, deviations.md and the smoke script; local gates run",
    "code_review": "step 5: N reviewers in parallel, claim checks, fix cycles until PRODUCTION GRADE",
    "deploy_review": "step 6: review deploy/<feature>/ with the GCP checklists it touches (risky deploys only)",
    "smoke": "step 7: after a deploy, the smoke script and checks; failures go to triage (doit smoke)",
    "evaluate": "step 8: a fresh evaluator scores the run with the rubric; devloop records time efficiency",
}
ORDER = list(SUMMARIES)
# What a bare `doit` runs: everything but the post-deploy verification.
DEFAULT = [s for s in ORDER if s != "smoke"]


def doit_dep(name: str) -> str | None:
    """The task a step's doit task depends on: the previous step a bare `doit` runs."""
    chain = DEFAULT if name in DEFAULT else [*DEFAULT[: DEFAULT.index("deploy_review") + 1], name]
    i = chain.index(name)
    return chain[i - 1] if i else None


def upstream_of(name: str) -> list[str]:
    return ORDER[: ORDER.index(name)]


def next_step(name: str) -> str | None:
    i = ORDER.index(name)
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


def check_step(name: str) -> str:
    from devloop.runtime.errors import UsageError  # lazy: off the path of a no-op doit and devloop --help

    if name not in SUMMARIES:
        raise UsageError(f"unknown step {name!r}; steps are: {', '.join(ORDER)}")
    return name
