"""Who may judge whom: the independence rules between roles, checked when devloop.yaml is read.

An author never judges its own work. The implementer (and every backup in
``implementer_rotation``, which may implement at any time) is neither
verifier, deploy reviewer nor evaluator; the implementer is not on the red
team; the planner does not review its own plan, nor sit on its red team
under its own name (the 8-step loop's second team is a fresh instance of the
planner's model: another agent name for the same model is fine there). Reviewers are
handled at run time as well: whoever implemented a feature leaves its review
seat to an ad-hoc agent.

A *seat* is what actually answers: two agent names that run the same CLI
with the same arguments, environment and model (or the same endpoint and
model) are one seat, so renaming an agent does not make it independent. By
default a shared seat is refused like a shared name; ``independence:
{same_seat: warn}`` turns seat conflicts (never name conflicts) into
warnings, shown by ``devloop doctor``. One deliberate exception, from the
five-reviewer cycle: the implementer's model may sit once among the
reviewers under another name (a fresh context, outvoted by the others).

People are exempt: a manual agent is a person who may play several roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (judging role, the authors it must not share an agent with, why, whether a shared seat counts too)
_RULES: tuple[tuple[str, tuple[str, ...], str, bool], ...] = (
    ("verifier", ("implementer", "implementer_rotation"), "the verifier judges claims against that agent's code", True),
    ("gcp_reviewer", ("implementer", "implementer_rotation"), "the deploy reviewer judges that agent's change", True),
    ("evaluator", ("implementer", "implementer_rotation"), "the evaluator grades that agent's work", True),
    ("red_team", ("implementer",), "the red team attacks the plan that agent implements", True),
    ("red_team", ("planner",), "the red team attacks that agent's plan", False),
    ("plan_reviewer", ("planner",), "the plan reviewer judges that agent's plan", True),
)

_LABELS = {
    "implementer": "the implementer",
    "implementer_rotation": "a backup implementer (implementer_rotation)",
    "planner": "the planner",
}


@dataclass(frozen=True)
class Conflict:
    field: str  # e.g. roles.red_team.1
    message: str
    by_seat: bool  # two names, one seat (may be downgraded to a warning)

    def text(self) -> str:
        return f"{self.field}: {self.message}"


def seat(name: str, cfg: Any) -> tuple[Any, ...]:
    """What answers when ``name`` is called: CLI, arguments, environment and model, or endpoint and model."""
    kind = cfg.kind
    if kind == "command":
        program = ("preset", cfg.preset) if cfg.preset else ("argv", tuple(cfg.argv or ()))
        return (kind, program, tuple(cfg.args), tuple(sorted(cfg.env.items())), cfg.model)
    if kind == "openai":
        return (kind, cfg.base_url.rstrip("/"), cfg.model)
    if kind == "replay":
        return (kind, cfg.dir.rstrip("/"), cfg.model)
    return (kind, name)  # a person is their own seat


def _names(roles: Any, role: str) -> list[tuple[str, str]]:
    """(field, agent name) for a role, indexed for list roles as the YAML writes them."""
    value = getattr(roles, role)
    if isinstance(value, list):
        return [(f"roles.{role}.{i}", name) for i, name in enumerate(value)]
    return [(f"roles.{role}", value)]


def conflicts(roles: Any, agents: dict[str, Any]) -> list[Conflict]:
    """Every judge that shares a name or a seat with an author it judges, and reviewers sharing a seat."""

    def is_person(name: str) -> bool:
        return name in agents and agents[name].kind == "manual"

    def seat_of(name: str) -> tuple[Any, ...] | None:
        return seat(name, agents[name]) if name in agents else None

    out: list[Conflict] = []
    for judge_role, author_roles, why, by_seat in _RULES:
        for field, judge in _names(roles, judge_role):
            if is_person(judge):
                continue
            for author_role in author_roles:
                for _, author in _names(roles, author_role):
                    if is_person(author):
                        continue
                    label = _LABELS[author_role]
                    if judge == author:
                        out.append(Conflict(field, f"{judge!r} is {label}; {why}, so it must be another agent", False))
                        break
                    if by_seat and seat_of(judge) is not None and seat_of(judge) == seat_of(author):
                        out.append(
                            Conflict(
                                field,
                                f"{judge!r} runs the same CLI and model as {author!r}, {label} (one seat); "
                                f"{why}, so it must be another model",
                                True,
                            )
                        )
                        break
    seen: dict[tuple[Any, ...], str] = {}
    for field, reviewer in _names(roles, "reviewers"):
        key = seat_of(reviewer)
        if key is None or is_person(reviewer):
            continue
        if key in seen and seen[key] != reviewer:
            out.append(
                Conflict(
                    field,
                    f"{reviewer!r} runs the same CLI and model as reviewer {seen[key]!r} (one seat); "
                    "two names for one model are not two independent votes",
                    True,
                )
            )
        seen.setdefault(key, reviewer)
    return out
