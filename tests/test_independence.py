"""Independence of judges, enforced when devloop.yaml is read: one clear error per conflict, naming the field."""

from __future__ import annotations

import pytest

from devloop.config.load import parse_config
from devloop.runtime.errors import ConfigError

AGENTS = """agents:
  impl: {kind: command, argv: [impl-cli], model: m-impl}
  backup: {kind: command, argv: [backup-cli]}
  plan: {kind: command, preset: claude, model: opus}
  j1: {kind: command, argv: [judge-cli], model: m1}
  j2: {kind: command, argv: [judge-cli], model: m2}
  j3: {kind: openai, base_url: 'http://127.0.0.1:9/v1', model: m3}
  ann: {kind: manual}
"""
# a valid starting point: every judge independent of every author
ROLES = {
    "planner": "plan",
    "plan_reviewer": "j1",
    "red_team": "[j1, j2]",
    "implementer": "impl",
    "implementer_rotation": "[backup]",
    "reviewers": "[j1, j2, j3]",
    "verifier": "j2",
    "gcp_reviewer": "j3",
    "evaluator": "j1",
}


def config_text(extra: str = "", **roles: str) -> str:
    merged = {**ROLES, **roles}
    return AGENTS + "roles:\n" + "".join(f"  {k}: {v}\n" for k, v in merged.items()) + extra


def error_lines(**roles: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_text(**roles))
    return str(caught.value).splitlines()


def test_the_starting_point_is_valid() -> None:
    assert parse_config(config_text()).seat_conflicts() == []


@pytest.mark.parametrize(
    ("role", "value", "field", "says"),
    [
        ("verifier", "impl", "roles.verifier", "'impl' is the implementer; the verifier judges claims"),
        ("verifier", "backup", "roles.verifier", "'backup' is a backup implementer (implementer_rotation)"),
        ("gcp_reviewer", "impl", "roles.gcp_reviewer", "'impl' is the implementer; the deploy reviewer"),
        ("evaluator", "backup", "roles.evaluator", "'backup' is a backup implementer"),
        ("evaluator", "impl", "roles.evaluator", "'impl' is the implementer; the evaluator grades"),
        ("red_team", "[j1, impl]", "roles.red_team.1", "'impl' is the implementer; the red team attacks the plan that"),
        ("red_team", "[plan]", "roles.red_team.0", "'plan' is the planner; the red team attacks that agent's plan"),
        ("plan_reviewer", "plan", "roles.plan_reviewer", "'plan' is the planner; the plan reviewer judges"),
    ],
)
def test_an_author_never_judges_its_own_work(role: str, value: str, field: str, says: str) -> None:
    [line] = error_lines(**{role: value})
    assert line.startswith(f"devloop.yaml: {field}: "), line
    assert says in line, line


def test_another_name_for_the_same_cli_and_model_is_the_same_seat() -> None:
    alias = AGENTS.replace("  ann:", "  impl-again: {kind: command, argv: [impl-cli], model: m-impl}\n  ann:")
    text = alias + "roles:\n" + "".join(f"  {k}: {v}\n" for k, v in {**ROLES, "verifier": "impl-again"}.items())
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    [line] = str(caught.value).splitlines()
    assert line.startswith("devloop.yaml: roles.verifier: 'impl-again' runs the same CLI and model as 'impl'")
    assert line.endswith("(or set independence.same_seat: warn)")
    # a different model is a different seat
    assert parse_config(text.replace("impl-cli], model: m-impl}\n  ann", "impl-cli], model: other}\n  ann"))


def test_two_reviewers_on_one_seat_are_refused_then_only_warned_when_asked() -> None:
    twin = AGENTS.replace("  ann:", "  j1b: {kind: command, argv: [judge-cli], model: m1}\n  ann:")
    roles = {**ROLES, "reviewers": "[j1, j1b, j3]"}
    text = twin + "roles:\n" + "".join(f"  {k}: {v}\n" for k, v in roles.items())
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value).startswith(
        "devloop.yaml: roles.reviewers.1: 'j1b' runs the same CLI and model as reviewer"
    )
    config = parse_config(text + "independence: {same_seat: warn}\n")
    assert [c.field for c in config.seat_conflicts()] == ["roles.reviewers.1"]


def test_warn_never_excuses_a_shared_name() -> None:
    with pytest.raises(ConfigError, match=r"roles\.verifier: 'impl' is the implementer"):
        parse_config(config_text("independence: {same_seat: warn}\n", verifier="impl"))


def test_the_implementers_model_may_sit_once_among_the_reviewers_under_another_name() -> None:
    """The five-reviewer cycle's "minimax (fresh)": same model, fresh context, outvoted by the others."""
    fresh = AGENTS.replace("  ann:", "  impl-fresh: {kind: command, argv: [impl-cli], model: m-impl}\n  ann:")
    roles = {**ROLES, "reviewers": "[j1, impl-fresh, j3]"}
    assert parse_config(fresh + "roles:\n" + "".join(f"  {k}: {v}\n" for k, v in roles.items()))


def test_the_planners_model_may_red_team_its_plan_under_another_name() -> None:
    """The 8-step loop's two teams: a fresh Claude (the planner's model) and codex."""
    fresh = AGENTS.replace("  ann:", "  red-plan: {kind: command, preset: claude, model: opus}\n  ann:")
    roles = {**ROLES, "red_team": "[red-plan, j2]"}
    assert parse_config(fresh + "roles:\n" + "".join(f"  {k}: {v}\n" for k, v in roles.items()))


def test_a_person_may_play_every_role() -> None:
    everyone = {role: ("[ann]" if value.startswith("[") else "ann") for role, value in ROLES.items()}
    assert parse_config(config_text(**everyone)).seat_conflicts() == []
    assert parse_config("")  # the default: every role is `me`


def test_every_conflict_is_its_own_line() -> None:
    lines = error_lines(verifier="impl", evaluator="impl", plan_reviewer="plan")
    fields = [line.split(": ")[1] for line in lines]
    assert fields == ["roles.verifier", "roles.evaluator", "roles.plan_reviewer"]


def test_same_seat_takes_only_refuse_or_warn() -> None:
    with pytest.raises(ConfigError, match=r"independence\.same_seat"):
        parse_config(config_text("independence: {same_seat: ignore}\n"))
