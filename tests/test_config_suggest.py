"""Config errors name the file, the line and the field, and suggest the closest valid key at any level."""

from __future__ import annotations

import pytest

from devloop.config.load import parse_config
from devloop.runtime.errors import EXIT_USAGE, ConfigError

SRC = "proj/devloop.yaml"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, SRC)
    assert info.value.exit_code == EXIT_USAGE
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # roles
        ("roles:\n  planer: me\n", "proj/devloop.yaml: line 2: roles.planer: not a setting; did you mean planner?"),
        # top level, after a comment line
        ("# mine\nsandbx: off\n", "proj/devloop.yaml: line 2: sandbx: not a setting; did you mean sandbox?"),
        # an agent's field (pydantic's union tag is not shown, and the right kind's fields are offered)
        (
            "agents:\n  x:\n    kind: command\n    argvv: [a]\n",
            "proj/devloop.yaml: line 4: agents.x.argvv: not a setting; did you mean argv?",
        ),
        (
            "agents:\n  o: {kind: openai, base_url: 'http://h', model: m, temprature: 1}\n",
            "proj/devloop.yaml: line 2: agents.o.temprature: not a setting; did you mean temperature?",
        ),
        # a step's policy
        (
            "steps:\n  code_review:\n    max_cycles: 2\n    quorom: 1\n",
            "proj/devloop.yaml: line 4: steps.code_review.quorom: not a setting; did you mean quorum?",
        ),
        # an item of a list
        (
            "steps:\n  implement:\n    gates:\n      - [make]\n      - argv: [x]\n        nme: y\n",
            "proj/devloop.yaml: line 6: steps.implement.gates.1.nme: not a setting; did you mean name?",
        ),
        # under a feature, inside an optional block
        (
            "features:\n  a:\n    deploy:\n      comand: [x]\n",
            "proj/devloop.yaml: line 4: features.a.deploy.comand: not a setting; did you mean command?",
        ),
        # a kind of agent
        (
            "agents:\n  x:\n    kind: comand\n",
            "proj/devloop.yaml: line 3: agents.x.kind: 'comand' is not a kind of agent; did you mean command?",
        ),
    ],
)
def test_a_typo_is_one_line_with_the_closest_key(text: str, line: str) -> None:
    msg = error_of(text)
    assert msg == line
    assert "Extra inputs" not in msg


def test_a_word_nothing_like_a_key_lists_the_keys_of_its_level() -> None:
    msg = error_of("roles:\n  zzqx: me\n")
    assert msg.startswith("proj/devloop.yaml: line 2: roles.zzqx: not a setting; valid: planner, plan_reviewer,")
    assert "did you mean" not in msg and "evaluator" in msg


def test_a_misspelt_choice_is_suggested_too() -> None:
    msg = error_of("steps:\n  red_team: {when: alway}\n")
    assert msg.startswith("proj/devloop.yaml: line 2: steps.red_team.when: Input should be")
    assert msg.endswith("; did you mean always?")


def test_a_feature_key_breaking_the_name_rule_says_the_rule() -> None:
    msg = error_of("features:\n  Daily Ingest: {}\n")
    assert "features.Daily Ingest: feature name 'Daily Ingest' is not kebab-case" in msg
    assert "no spaces" in msg
