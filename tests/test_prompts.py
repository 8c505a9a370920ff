"""The prompts: the check block they teach parses, and their words are true for a person and for a model.

Every ```yaml devloop example in a rendered prompt is parsed with devloop's own
check parser, so a prompt can never teach a block the parser refuses; the
expression vocabulary the prompt lists is compiled name by name. The rest
renders each template with every role played by people (the default manual
agent ``me``) and by models, and checks the sentences that differ.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devloop.after_deploy.checks.block import find_blocks
from devloop.after_deploy.checks.expr import FILTERS, METHODS, TEMPLATE_NAMES, WINDOW_NAMES, compile_expr
from devloop.after_deploy.checks.model import KINDS, CheckBlock
from devloop.after_deploy.checks.parse import parse_check_block
from devloop.config.workspace import Workspace
from devloop.runtime.errors import ConfigError
from devloop.steps.prompts import reader_context, render, template_hash

TEMPLATES = sorted(p.name for p in (Path(__file__).parent.parent / "templates").glob("[a-z]*.j2"))
CHECK_BLOCK_TEMPLATES = ("plan.md.j2", "validation_pass2.md.j2", "validation_fix.md.j2")

MODELS = """\
agents:
  a1: {kind: command, argv: [a1]}
  a2: {kind: command, argv: [a2]}
  a3: {kind: command, argv: [a3]}
  a4: {kind: command, argv: [a4]}
  a5: {kind: command, argv: [a5]}
  a6: {kind: command, argv: [a6]}
roles:
  planner: a1
  plan_reviewer: a2
  red_team: [a3, a4]
  implementer: a5
  reviewers: [a1, a2]
  verifier: a6
  gcp_reviewer: a6
  triage: a1
  evaluator: a6
deploy: {rollback: [./rollback.sh]}
"""

# Everything any template reads, so each renders on its own.
CONTEXT: dict[str, Any] = dict(
    feature="f", brief="B", plan="P", validation="V", deviations="D", plan_path="plans/f/plan.md",
    validation_path="plans/f/validation.md", triage="", round=1, diff="", files=[("a.py", "1 x")], shown_note="",
    notes=[], gates=[], previous=[], required=["RT-1"], missing=[], report="R", lint="ok",
    answer_path="plans/f/answer.md", review_path="r.md", review="rv", rubric="RUB", artifacts=["a"], code=[],
    timing="t", attempt=1, tries=2, red_gates=[], deviations_path="plans/f/deviations.md", blocking=[], reviews=[],
    smoke_path="scripts/smoke/f.sh", no_deviations="None.", paths=[], claims=[], smoke_log="L", fired=["spike"],
    checklists=[], change=[],
)  # fmt: skip

# What each kind's observation holds (devloop/checks/<kind>.py ``observe``); bigquery adds the row's columns.
OBSERVED = {
    "bigquery": {"rows", "bytes_processed"},
    "logging": {"count", "capped"},
    "http": {"status", "latency_ms", "body", "headers"},
    "command": {"exit_code", "stdout", "stderr"},
}


def workspace(root: Path, config: str) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    (root / "devloop.yaml").write_text(config)
    return Workspace(root)


@pytest.fixture
def people(tmp_path: Path) -> Workspace:
    return workspace(tmp_path / "people", "")  # every role: the manual agent `me`


@pytest.fixture
def models(tmp_path: Path) -> Workspace:
    return workspace(tmp_path / "models", MODELS)


def prompt(ws: Workspace, name: str, **extra: Any) -> str:
    return render(ws, name, **{**CONTEXT, **extra})


# -- the check block ----------------------------------------------------------------


@pytest.mark.parametrize("name", CHECK_BLOCK_TEMPLATES)
def test_every_check_block_example_in_a_prompt_parses(people: Workspace, models: Workspace, name: str) -> None:
    for ws in (people, models):
        text = prompt(ws, name, missing=["RT-1"], triage="the check was wrong")
        blocks = find_blocks(text)
        assert blocks, f"{name} shows no ```yaml devloop block"
        for found in blocks:
            block = parse_check_block(f"```yaml devloop\n{found.body}```\n", f"{name} line {found.line}")
            assert isinstance(block, CheckBlock), "the example must go through the full model, not the light path"
            assert {c.kind for c in block.smoke} == set(KINDS)  # one example per kind devloop supports
            assert block.rollback_triggers and block.monitoring is not None
            for probe in [*block.smoke, *block.rollback_triggers]:
                seen = OBSERVED[probe.kind] | ({"n"} if probe.kind == "bigquery" else set())
                assert probe.expr.names <= seen, f"{probe.name} reads {probe.expr.names - seen}"


def test_the_parser_would_catch_a_drifted_example(people: Workspace) -> None:
    """The parse above is a real test: the same example with a mistake in it is refused."""
    body = find_blocks(prompt(people, "plan.md.j2"))[0].body
    for wrong, fragment in [
        (body.replace("expect: count == 0", "expect: count | format"), "filter 'format'"),
        (body.replace("monitoring:", "rollback: [./undo.sh]\nmonitoring:"), "rollback: not allowed"),
        (body.replace("    window: 10m\n", ""), "needs a window"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(fragment)):
            parse_check_block(f"```yaml devloop\n{wrong}```\n")


def test_the_listed_expression_vocabulary_is_exactly_what_the_sandbox_takes(people: Workspace) -> None:
    text = " ".join(prompt(people, "plan.md.j2").split())
    filters = re.search(r"the filters (.*?) \(as `body \| length`\)", text)
    methods = re.search(r"strings and dicts that read: (.*?)\. Anything else", text)
    assert filters and methods
    listed_filters = set(filters.group(1).split(", "))
    listed_methods = set(methods.group(1).split(", "))
    assert listed_filters == set(FILTERS) and listed_methods == set(METHODS)
    for f in listed_filters:
        compile_expr(f"body | {f}")
    for m in listed_methods:
        compile_expr(f"body.{m}()")
    for name in TEMPLATE_NAMES | WINDOW_NAMES:
        assert f"`{{{{ {name} }}}}`" in text
    for refused in ("body | format", "body.__class__", "_x == 1", "lipsum()"):
        with pytest.raises(ConfigError):
            compile_expr(refused)
        assert refused.split()[-1] not in listed_filters | listed_methods


def test_the_planner_is_told_where_checks_go(people: Workspace, models: Workspace) -> None:
    for ws in (people, models):
        for name in CHECK_BLOCK_TEMPLATES:
            assert "### The check block in validation.md" in prompt(ws, name)
    assert "`# RT-1`" in prompt(models, "validation_pass2.md.j2")


def test_editing_the_shared_check_block_makes_its_steps_stale(people: Workspace) -> None:
    before = template_hash(people, ("plan.md.j2",))
    other = template_hash(people, ("plan_review.md.j2",))
    (people.root / "templates").mkdir()
    (people.root / "templates" / "_check_block.md.j2").write_text("Checks go in a block.\n")
    again = Workspace(people.root)
    assert template_hash(again, ("plan.md.j2",)) != before
    assert template_hash(again, ("plan_review.md.j2",)) == other  # no include, no change
    assert "Checks go in a block." in prompt(again, "plan.md.j2")


# -- who reads the prompt -------------------------------------------------------------


def test_every_template_renders_for_people_and_for_models(people: Workspace, models: Workspace) -> None:
    for name in TEMPLATES:
        for ws in (people, models):
            text = prompt(ws, name)
            assert "{%" not in text and "%}" not in text, name
            assert text.startswith("You are"), name


def test_reader_follows_the_agent_kind_of_the_role(people: Workspace, models: Workspace, tmp_path: Path) -> None:
    assert reader_context(people, "plan.md.j2")["reader"] == "person"
    assert reader_context(models, "plan.md.j2")["reader"] == "model"
    mixed = workspace(tmp_path / "mixed", MODELS.replace("reviewers: [a1, a2]", "reviewers: [me, a1]"))
    assert reader_context(mixed, "code_review.md.j2")["reader"] == "mixed"
    assert reader_context(mixed, "plan.md.j2")["reader"] == "model"


def test_a_person_reviewing_their_own_code_is_not_told_they_did_not_write_it(
    people: Workspace, models: Workspace, tmp_path: Path
) -> None:
    own = prompt(people, "code_review.md.j2")
    assert "You did not write this code" not in own and "independent" not in own.split("## ")[0]
    assert own.startswith("You are the **code reviewer** for the feature")
    assert (
        "The implementer, a person, also reviews\nthis code: whoever wrote it, judge it as if someone else had." in own
    )
    model = prompt(models, "code_review.md.j2")
    assert model.startswith("You are one of several independent **code reviewers** for the feature")
    assert "You did not write this code." in model
    config = MODELS.replace("implementer: a5", "implementer: me").replace("reviewers: [a1, a2]", "reviewers: [me, a1]")
    mixed = prompt(workspace(tmp_path / "mixed", config), "code_review.md.j2")
    assert mixed.startswith("You are one of several **code reviewers**")
    assert "You did not write this code" not in mixed and "judge it as if someone else had" in mixed


def test_a_person_saves_files_where_a_model_is_told_about_its_working_directory(
    people: Workspace, models: Workspace
) -> None:
    for name, person_says, model_says in [
        ("plan.md.j2", "Save both files in full; devloop reads them when you run `doit` again.", "do not answer"),
        ("plan.md.j2", "(paths are relative to its root)", "(your working directory)"),
        ("implement.md.j2", "(paths are relative to its root)", "(your working directory)"),
        ("plan_review.md.j2", "Save your answer as `plans/f/answer.md`.", "Your answer is stored as"),
        ("evaluate.md.j2", "even if you played other roles in this run", "You have no other context"),
        ("evaluate.md.j2", "Save your answer as `plans/f/answer.md`.", "You are a **fresh evaluator**"),
    ]:
        by_person, by_model = prompt(people, name), prompt(models, name)
        assert person_says in by_person and model_says not in by_person, name
        assert model_says in by_model and person_says not in by_model, name


@pytest.mark.parametrize(
    ("teams", "says"),
    [
        (["me"], None),
        (["a3", "a4"], "Another team gets the same prompt; work on your own."),
        (["a3", "a4", "a2"], "2 other teams get the same prompt; work on your own."),
    ],
)
def test_the_red_team_hears_of_other_teams_only_when_there_are_some(
    tmp_path: Path, teams: list[str], says: str | None
) -> None:
    ws = workspace(tmp_path, MODELS.replace("red_team: [a3, a4]", f"red_team: [{', '.join(teams)}]"))
    text = prompt(ws, "red_team.md.j2")
    first = text.split("\n\n")[0]
    if says is None:
        assert "team gets" not in text and "teams get" not in text and "matched by title" not in text
    else:
        assert says in first and "matched by title" in text


def test_triage_says_what_the_rollback_did(people: Workspace, models: Workspace) -> None:
    assert "the\nconfigured rollback already ran" in prompt(models, "triage.md.j2")
    without = prompt(people, "triage.md.j2")
    assert "already ran" not in without and "no rollback command is configured" in without
    assert "rollback" not in prompt(models, "triage.md.j2", fired=[]).split("##")[0]


def test_the_gate_fix_says_who_wrote_the_code(models: Workspace) -> None:
    """Code written by hand and handed to the implementer for a red gate: the prompt does not claim it as theirs."""
    red = [{"command": "pytest -q", "passed": False, "result": "1 failed", "tail": "E assert 1 == 2", "log": ""}]
    ctx = {"attempt": 1, "tries": 2, "red_gates": red, "deviations_path": "plans/f/deviations.md", "plan": "# Plan"}
    theirs = prompt(models, "gate_fix.md.j2", by_hand=False, **ctx)
    hand = prompt(models, "gate_fix.md.j2", by_hand=True, **ctx)
    assert "You wrote its code; the local gates below fail on it" in theirs and "by hand" not in theirs
    assert "Its code was written by hand, not by you" in hand and "You wrote its code" not in hand
