"""devloop.config.names: feature names are kebab-case, checked before any file is touched."""

from __future__ import annotations

import pytest

from devloop.config.names import MAX_LEN, check_feature_name
from devloop.runtime.errors import EXIT_USAGE, FeatureNameError, UsageError


@pytest.mark.parametrize("name", ["a", "x1", "daily-ingest", "login-page-v2", "2fa", "a-b-c-d", "a" * MAX_LEN])
def test_valid_names_are_returned_unchanged(name: str) -> None:
    assert check_feature_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["Foo", "a b", "../x", "a/b", "a--b", "-a", "a-", "a.b", "a" * (MAX_LEN + 1), "a_b", "é", " a", "a\tb", "A-b"],
)
def test_invalid_names_are_refused_and_quoted(name: str) -> None:
    with pytest.raises(FeatureNameError) as info:
        check_feature_name(name)
    assert repr(name) in str(info.value)


def test_empty_name_is_refused() -> None:
    with pytest.raises(FeatureNameError, match="empty"):
        check_feature_name("")


def test_sixty_five_chars_is_refused_for_length() -> None:
    assert MAX_LEN == 64
    with pytest.raises(FeatureNameError, match="longer than 64"):
        check_feature_name("b" * 65)


def test_error_is_a_usage_error_with_exit_code_3() -> None:
    with pytest.raises(UsageError) as info:
        check_feature_name("Bad Name")
    assert isinstance(info.value, FeatureNameError)
    assert info.value.exit_code == EXIT_USAGE == 3
    assert "kebab-case" in str(info.value)


@pytest.mark.parametrize("name", ["abc\n", "daily-ingest\n"])
def test_trailing_newline_is_refused(name: str) -> None:
    with pytest.raises(FeatureNameError):
        check_feature_name(name)


@pytest.mark.parametrize("name", ["../..", "a/b", "a\x00b", "Upper", "-lead", "_lead", "sp ace", "", "x" * 65, ".."])
def test_agent_names_that_could_be_paths_are_refused(name):
    from devloop.config.names import is_agent_name

    assert not is_agent_name(name)


@pytest.mark.parametrize("name", ["me", "claude", "red-claude", "minimax_fresh", "r1", "x" * 64])
def test_ordinary_agent_names_are_accepted(name):
    from devloop.config.names import is_agent_name

    assert is_agent_name(name)


# -- every path built from a name stays inside the workspace ---------------------------------------------
@pytest.mark.parametrize("rel", ["../x.md", "plans/../../x.md", "/etc/passwd", "plans/a\x00b.md", ""])
def test_a_built_path_that_leaves_the_workspace_as_text_is_refused(tmp_path, rel):
    from devloop.config.workspace import confined
    from devloop.runtime.errors import DevloopError

    with pytest.raises(DevloopError, match="refusing the path"):
        confined(tmp_path, rel)


def test_a_built_path_through_a_planted_link_is_refused_and_nothing_is_written(tmp_path):
    from devloop.config.workspace import confined
    from devloop.runtime.errors import DevloopError

    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "plans" / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "plans" / "a" / "reviews").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DevloopError, match="through a link it leads outside the workspace"):
        confined(root, "plans/a/reviews/round1-judge.md")
    assert list(outside.iterdir()) == []
    inner = root / "plans" / "a" / "same"
    inner.symlink_to(root / "plans", target_is_directory=True)  # a link that stays inside is fine
    assert confined(root, "plans/a/same/a/x.md") == root / "plans/a/same/a/x.md"
    assert confined(root, "plans/a/new/deeper.md") == root / "plans/a/new/deeper.md"  # not there yet: fine
