"""devloop.config: devloop.yaml parsing; every error names the file and the field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from devloop.config import CONFIG_FILE, Config, load_config
from devloop.config.load import parse_config
from devloop.config.models import LIST_ROLES, SINGLE_ROLES, CommandAgentConfig, ManualAgentConfig
from devloop.runtime.errors import EXIT_USAGE, ConfigError

SRC = "proj/devloop.yaml"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, SRC)
    assert info.value.exit_code == EXIT_USAGE
    msg = str(info.value)
    assert msg.startswith(SRC), msg
    return msg


# -- defaults ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "  \n", "# only a comment\n", "null\n", "{}\n"])
def test_empty_config_means_defaults(text: str) -> None:
    cfg = parse_config(text)
    assert cfg == Config()
    assert list(cfg.agents) == ["me"]


def test_every_role_defaults_to_the_manual_agent_me() -> None:
    cfg = Config()
    assert isinstance(cfg.agents["me"], ManualAgentConfig)
    assert cfg.agents["me"].kind == "manual"
    for role in SINGLE_ROLES:
        assert getattr(cfg.roles, role) == "me", role
    assert cfg.roles.red_team == ["me"]
    assert cfg.roles.reviewers == ["me"]
    assert cfg.roles.implementer_rotation == []
    assert cfg.roles.adhoc == []
    assert cfg.steps.plan_review.max_rounds == 2
    assert cfg.steps.code_review.max_cycles == 3
    assert cfg.features == {}


def test_load_config_without_a_file_gives_defaults(tmp_path: Path) -> None:
    assert not (tmp_path / CONFIG_FILE).exists()
    assert load_config(tmp_path) == Config()


def test_load_config_reads_the_file_and_names_it_in_errors(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_FILE
    path.write_text("agents:\n  bot: {kind: command, argv: [bot, --json], timeout: 30}\nroles:\n  reviewers: [bot]\n")
    cfg = load_config(tmp_path)
    bot = cfg.agents["bot"]
    assert isinstance(bot, CommandAgentConfig)
    assert bot.argv == ["bot", "--json"]
    assert bot.timeout == 30
    assert cfg.roles.reviewers == ["bot"]
    assert cfg.agents["me"].kind == "manual"  # "me" is always there

    path.write_text("roles:\n  planner: ghost\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(path) in str(info.value)


def test_a_full_config_parses() -> None:
    text = """
agents:
  codex: {kind: command, argv: [codex, exec, -m, "{model}", "{prompt_file}"], prompt: file, model: gpt-5}
  rec: {kind: replay, dir: tests/answers}
  claude: {kind: command, preset: claude}
  me: {kind: manual}
roles:
  planner: me
  implementer: codex
  reviewers: [rec]
  red_team: [rec, claude]
steps:
  plan_review: {max_rounds: 5}
  implement: {gates: [[pytest, -q]], gate_timeout: 60}
features:
  daily-ingest: {paths: ["src/ingest/**"]}
env_allow: [HTTPS_PROXY]
"""
    cfg = parse_config(text)
    assert cfg.agents["codex"].prompt == "file"
    assert cfg.agents["rec"].dir == "tests/answers"
    assert cfg.roles.red_team == ["rec", "claude"]
    assert cfg.steps.plan_review.max_rounds == 5
    assert [g.argv for g in cfg.steps.implement.gates] == [["pytest", "-q"]]
    assert cfg.features["daily-ingest"].paths == ["src/ingest/**"]
    assert cfg.env_allow == ["HTTPS_PROXY"]


# -- errors name the file and the field --------------------------------------


def test_missing_argv_and_preset_names_the_agent() -> None:
    msg = error_of("agents:\n  a: {kind: command}\n")
    assert f"{SRC}: line 2: agents.a: give either preset (a known CLI) or argv (any command)" in msg


def test_unknown_preset_lists_the_known_ones() -> None:
    msg = error_of("agents:\n  a: {kind: command, preset: kodex}\n")
    assert "unknown preset 'kodex'; known: aider, claude, codex, gemini, llm, opencode" in msg


def test_empty_argv_is_refused() -> None:
    assert "agents.a.argv" in error_of("agents:\n  a: {kind: command, argv: []}\n")


def test_unknown_agent_key_names_it() -> None:
    msg = error_of("agents:\n  x: {kind: command, argv: [x], bogus: 1}\n")
    assert "agents.x.bogus" in msg


def test_unknown_top_level_key_names_it() -> None:
    assert "colour" in error_of("colour: blue\n")


def test_unknown_role_key_names_it() -> None:
    assert "roles.chef" in error_of("roles:\n  chef: me\n")


def test_unknown_agent_kind_is_refused() -> None:
    msg = error_of("agents:\n  x: {kind: telepathy}\n")
    assert "agents.x" in msg
    assert "telepathy" in msg


def test_role_naming_an_undefined_agent_names_the_role() -> None:
    msg = error_of("roles:\n  planner: nobody\n")
    assert "roles.planner" in msg
    assert "nobody" in msg


def test_list_role_naming_an_undefined_agent_names_the_index() -> None:
    assert "roles.reviewers.1" in error_of("roles:\n  reviewers: [me, ghost]\n")


def test_several_problems_are_all_reported() -> None:
    msg = error_of("roles:\n  planner: a\n  evaluator: b\n")
    assert "roles.planner" in msg
    assert "roles.evaluator" in msg


def test_empty_reviewers_is_refused() -> None:
    assert "roles.reviewers" in error_of("roles:\n  reviewers: []\n")


def test_bad_types_name_the_nested_field() -> None:
    assert "steps.plan_review.max_rounds" in error_of("steps:\n  plan_review: {max_rounds: 0}\n")
    assert "agents.a.timeout" in error_of("agents:\n  a: {kind: command, argv: [x], timeout: -1}\n")


def test_invalid_yaml_names_the_line() -> None:
    msg = error_of("agents:\n  a: {kind: command\nroles: [\n")
    assert "not valid YAML" in msg
    assert "line " in msg
    msg = error_of("roles:\n  planner: me\n bad: indent\n")
    assert "line 3" in msg


@pytest.mark.parametrize("text,kind", [("- a\n- b\n", "list"), ("just a string\n", "str"), ("42\n", "int")])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    msg = error_of(text)
    assert "mapping" in msg
    assert kind in msg


def test_prompt_file_without_placeholder_is_refused() -> None:
    msg = error_of("agents:\n  a: {kind: command, argv: [tool, --in, prompt.txt], prompt: file}\n")
    assert "agents.a" in msg
    assert "{prompt_file}" in msg


def test_output_file_without_placeholder_is_refused() -> None:
    assert "{output_file}" in error_of("agents:\n  a: {kind: command, argv: [tool], output: file}\n")


def test_placeholders_present_are_accepted() -> None:
    argv = '[tool, "{prompt_file}", -o, "{output_file}"]'
    text = f"agents:\n  a: {{kind: command, argv: {argv}, prompt: file, output: file}}\n"
    assert parse_config(text).agents["a"].output == "file"


def test_manual_agent_takes_no_model() -> None:
    assert "agents.h.model" in error_of("agents:\n  h: {kind: manual, model: gpt}\n")


def test_replay_agent_needs_a_dir() -> None:
    assert "agents.r.dir" in error_of("agents:\n  r: {kind: replay}\n")


def test_agent_named_like_a_kind_keeps_its_name_in_the_path() -> None:
    assert "agents.replay.dir" in error_of("agents:\n  replay: {kind: replay}\n")


# -- role rules --------------------------------------------------------------


def test_implementer_among_reviewers_is_refused() -> None:
    text = "agents:\n  bot: {kind: command, argv: [bot]}\nroles:\n  implementer: bot\n  reviewers: [me, bot]\n"
    msg = error_of(text)
    assert "roles.reviewers" in msg
    assert "bot" in msg


def test_manual_implementer_may_also_review() -> None:
    text = "agents:\n  ann: {kind: manual}\nroles:\n  implementer: ann\n  reviewers: [ann]\n"
    assert parse_config(text).roles.reviewers == ["ann"]


def test_every_role_key_is_checked_against_agents() -> None:
    for role in SINGLE_ROLES:
        assert f"roles.{role}" in error_of(f"roles:\n  {role}: ghost\n"), role
    for role in LIST_ROLES:
        assert f"roles.{role}.0" in error_of(f"roles:\n  {role}: [ghost]\n"), role


# -- features ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["Daily", "daily_ingest", "a--b", "-x", "a.b"])
def test_feature_key_must_be_kebab_case(name: str) -> None:
    assert f"features.{name}" in error_of(f"features:\n  {name}: {{}}\n")


@pytest.mark.parametrize("glob", ["/etc/*", "../other/**", "src/../../x"])
def test_feature_paths_must_stay_inside(glob: str) -> None:
    msg = error_of(f'features:\n  ok: {{paths: ["{glob}"]}}\n')
    assert "features.ok.paths" in msg


# -- schema ------------------------------------------------------------------


def test_json_schema_lists_the_top_level_sections() -> None:
    schema = Config.model_json_schema()
    assert isinstance(schema, dict)
    for key in ("agents", "roles", "steps", "features", "env_allow"):
        assert key in schema["properties"]
    assert schema.get("additionalProperties") is False


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(ValueError):
        cfg.roles.planner = "x"  # type: ignore[misc]


def test_feature_key_longer_than_a_feature_name_is_refused() -> None:
    name = "a" * 65
    assert f"features.{name}" in error_of(f"features:\n  {name}: {{}}\n")


@pytest.mark.parametrize("name", ["'../..'", "'a/b'", "Upper", "'-x'", '"a\\0b"', "'..'"])
def test_an_agent_name_that_could_be_a_path_is_refused(name: str) -> None:
    msg = error_of(f"agents:\n  {name}: {{kind: manual}}\nroles:\n  planner: me\n")
    assert "not an agent name" in msg and "agent names become file names" in msg


def test_checks_http_methods_allows_only_writing_methods_by_name() -> None:
    cfg = parse_config("checks:\n  http_methods: [POST]\n", SRC)
    assert list(cfg.checks.http_methods) == ["POST"]
    assert "checks.http_methods" in error_of("checks:\n  http_methods: [TRACE]\n")


# -- gate names become file names -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["'../x'", "'a/b'", "Upper", "'-x'", '"a\\0b"'])
def test_a_gate_name_that_could_be_a_path_is_refused(name: str) -> None:
    msg = error_of(f"steps:\n  implement:\n    gates: [{{argv: [pytest], name: {name}}}]\n")
    assert f"{SRC}: line 3: steps.implement.gates.0.name: " in msg and "is not a gate name" in msg


def test_gates_get_unique_safe_names_and_plain_ones_keep_their_written_form() -> None:
    from devloop.steps.gates import gate_commands

    cfg = parse_config(
        "steps:\n  implement:\n    gates: [[pytest, -q], {argv: [/opt/Ruff.EXE, check], env_allow: [X]},"
        " [pytest, tests/b], {argv: [make], name: unit}]\n"
    )
    assert [name for name, _, _ in gate_commands(cfg.steps.implement)] == ["pytest", "ruff-exe", "pytest-2", "unit"]
    dumped = cfg.model_dump(mode="json")["steps"]["implement"]["gates"]
    assert dumped[0] == ["pytest", "-q"]  # so an existing workspace's implement fingerprint does not move
    assert dumped[1] == {"argv": ["/opt/Ruff.EXE", "check"], "name": None, "env_allow": ["X"]}
    msg = error_of("steps:\n  implement:\n    gates: [{argv: [a], name: unit}, {argv: [b], name: unit}]\n")
    assert msg.count("\n") == 0
    assert "steps.implement.gates: gate name unit used twice" in msg


# -- cache stores ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("gs:/team-bucket/answers", "begins like a URL but has no '://'"),
        ("s3:team-bucket", "begins like a URL but has no '://'"),
        ("file:/mnt/shared", "begins like a URL but has no '://'"),
        ("gs://", "names no bucket or folder"),
        ("s3:///", "names no bucket or folder"),
        (" gs://team-bucket", "is not a URL scheme"),
        ("g_s://team-bucket", "is not a URL scheme"),
    ],
)
def test_a_store_url_with_a_broken_scheme_is_refused(url: str, said: str) -> None:
    """As a folder, ``gs:/bucket`` would be a folder ``gs:`` in the workspace, never the bucket meant."""
    msg = error_of(f"cache:\n  stores:\n    - {{url: '{url}', push: true}}\n")
    assert f"{SRC}: line 3: cache.stores.0.url: " in msg and said in msg, msg


@pytest.mark.parametrize(
    "url", ["gs://team-bucket/answers", "memory://", "../shared-answers", "/mnt/shared", "./gs:/odd", "~/answers"]
)
def test_store_urls_and_folder_paths_are_accepted(url: str) -> None:
    assert parse_config(f"cache:\n  stores:\n    - {{url: '{url}'}}\n", SRC).cache.stores[0].url == url


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("sandbox_writable: ['~', '.cache']\n", "sandbox_writable.1"),
        ("sandbox_writable: ['../shared']\n", "sandbox_writable.0"),
        ("agents:\n  x: {kind: command, argv: [x], writable: ['$HOME/.x']}\n", "agents.x.writable.0"),
    ],
)
def test_a_relative_writable_folder_is_refused(text: str, field: str) -> None:
    """Taken from whichever folder a command runs in, the sandbox and the cache's trust could differ on it."""
    msg = error_of(text)
    assert f"{field}: " in msg and "is relative; write an absolute path or one below ~" in msg, msg


def test_absolute_and_home_writable_folders_are_accepted() -> None:
    cfg = parse_config("sandbox_writable: ['~', '/tmp', '~other/x']\n", SRC)
    assert cfg.sandbox_writable == ["~", "/tmp", "~other/x"]
