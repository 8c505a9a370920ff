"""devloop.steps.change: paths: patterns, the diff split per file, and the prompt budget (pure parts)."""

from __future__ import annotations

import pytest

from devloop.steps.change import fit, is_loop_file, matching, per_file

FILES = ["src/a.py", "src/pkg/b.py", "tests/test_a.py", "README.md", "pipelines/daily_ingest/job.sql", "x.sql"]


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["src/**"], ["src/a.py", "src/pkg/b.py"]),  # every file below src/ (Path.glob("src/**") gave none)
        (["pipelines/daily_ingest/**"], ["pipelines/daily_ingest/job.sql"]),
        (["*.sql"], ["pipelines/daily_ingest/job.sql", "x.sql"]),  # any depth, as in .gitignore
        (["/*.sql"], ["x.sql"]),  # anchored
        (["src/**", "!src/pkg/**"], ["src/a.py"]),  # negation
        (["**/*"], FILES),
    ],
)
def test_paths_are_gitignore_style(patterns: list[str], expected: list[str]) -> None:
    assert matching(patterns, FILES) == expected


def test_the_loops_folders_are_never_matched() -> None:
    candidates = [".git/config", "plans/a/plan.md", "runs/ledger.jsonl", ".devloop/x", "src/a.py"]
    assert matching(["**/*", ".git/**", "plans/**"], candidates) == ["src/a.py"]
    assert is_loop_file(".git/config") and not is_loop_file(".github/workflows/ci.yml")


DIFF = (
    "diff --git a/src/a.py b/src/a.py\nindex 1..2 100644\n--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1 @@\n-x\n+y\n"
    "diff --git a/src/gone.py b/src/gone.py\ndeleted file mode 100644\n--- a/src/gone.py\n+++ /dev/null\n"
    "@@ -1 +0,0 @@\n-old\n"
    "diff --git a/img.png b/img.png\nnew file mode 100644\nindex 0..1\nBinary files /dev/null and b/img.png differ\n"
)


def test_the_diff_splits_per_file_including_deleted_and_binary_files() -> None:
    parts = per_file(DIFF)
    assert list(parts) == ["src/a.py", "src/gone.py", "img.png"]
    assert parts["src/gone.py"].endswith("-old\n") and "Binary files" in parts["img.png"]
    assert "".join(parts.values()) == DIFF


def test_everything_fits_and_nothing_is_reported() -> None:
    shown = fit(["src/a.py"], {"src/a.py": "1  y"}, DIFF, 10_000)
    assert shown.whole == ["src/a.py"] and shown.diff == DIFF
    assert shown.summary() == "" and shown.diff_only == [] and shown.left_out == []


def test_over_budget_the_diff_comes_first_and_the_rest_is_named() -> None:
    texts = {"src/a.py": "a" * 500, "src/big.py": "b" * 5000}
    shown = fit(["src/a.py", "src/big.py"], texts, DIFF, 700)
    assert shown.diff.startswith("diff --git a/src/a.py")
    assert "src/big.py" in shown.left_out  # no diff part and too big whole
    assert shown.whole == [] or shown.whole == ["src/a.py"]
    summary = shown.summary()
    assert "larger than the budget of 700 characters (max_code_chars)" in summary
    assert "Left out (neither diff nor text): " in summary and "src/big.py" in summary
    every = set(shown.whole) | set(shown.in_diff) | set(shown.left_out)
    assert {"src/a.py", "src/big.py", "src/gone.py", "img.png"} <= every  # nothing vanishes


def test_a_file_whose_whole_text_does_not_fit_is_shown_as_diff_only() -> None:
    shown = fit(["src/a.py"], {"src/a.py": "a" * 5000}, DIFF, 1000)
    assert shown.diff_only == ["src/a.py"] and shown.whole == []
    assert "Shown as diff only: src/a.py." in shown.summary()
