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
    # The whole diff (321 characters) goes in first; src/a.py's 500 characters would fit the 700 on their
    # own but not in the 379 the diff leaves, so it is shown as diff only, and src/big.py is left out.
    texts = {"src/a.py": "a" * 500, "src/big.py": "b" * 5000}
    shown = fit(["src/a.py", "src/big.py"], texts, DIFF, 700)
    assert shown.diff == DIFF
    assert shown.in_diff == ["img.png", "src/a.py", "src/gone.py"]
    assert shown.whole == [] and shown.files == []
    assert shown.diff_only == ["src/a.py"]
    assert shown.left_out == ["src/big.py"]  # no diff part and too big whole
    assert shown.summary() == (
        "The change is larger than the budget of 700 characters (max_code_chars)."
        " Shown as diff only: src/a.py. Left out (neither diff nor text): src/big.py."
    )
    every = set(shown.whole) | set(shown.in_diff) | set(shown.left_out)
    assert {"src/a.py", "src/big.py", "src/gone.py", "img.png"} <= every  # nothing vanishes


def part(path: str, body: str) -> str:
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-x\n+{body}\n"


def test_over_budget_parts_go_in_the_order_given_and_one_too_big_does_not_stop_the_rest() -> None:
    a, huge, c = part("src/a.py", "a"), part("src/huge.py", "h" * 1000), part("src/c.py", "c")
    texts = {"src/c.py": "c" * 30, "src/huge.py": "h" * 2000, "src/a.py": "a" * 50}
    # Paths in the order c, huge, a (the diff has a, huge, c): 60 characters left after c's and a's parts.
    shown = fit(["src/c.py", "src/huge.py", "src/a.py"], texts, a + huge + c, len(a) + len(c) + 60)
    assert shown.diff == c + a  # huge's part is skipped, a's (after it) still goes in
    assert shown.in_diff == ["src/a.py", "src/c.py"]
    assert shown.files == [("src/c.py", "c" * 30)]  # c first takes 30 of the 60; a's 50 no longer fit
    assert shown.diff_only == ["src/a.py"]
    assert shown.left_out == ["src/huge.py"]
    assert shown.summary() == (
        f"The change is larger than the budget of {len(a) + len(c) + 60:,} characters (max_code_chars)."
        " Shown whole: src/c.py. Shown as diff only: src/a.py. Left out (neither diff nor text): src/huge.py."
    )


def test_a_part_or_file_exactly_the_size_of_the_room_left_fits() -> None:
    exact = fit(["src/a.py"], {"src/a.py": "x"}, DIFF, len(DIFF))
    assert exact.diff == DIFF and exact.whole == [] and exact.diff_only == ["src/a.py"] and exact.left_out == []
    one_more = fit(["src/a.py"], {"src/a.py": "x"}, DIFF, len(DIFF) + 1)
    assert one_more.diff == DIFF and one_more.whole == ["src/a.py"] and one_more.summary() == ""


def test_over_budget_without_whole_files_only_diff_parts_are_named() -> None:
    parts = per_file(DIFF)
    budget = len(parts["src/a.py"]) + len(parts["src/gone.py"])  # no room left for img.png's part
    shown = fit(["src/other.py"], {"src/other.py": "o"}, DIFF, budget, whole=False)
    assert shown.diff == parts["src/a.py"] + parts["src/gone.py"]
    assert shown.files == [] and shown.diff_only == []
    assert shown.left_out == ["img.png"]  # src/other.py has no diff part and no text is asked for: not named
    assert shown.summary() == (
        f"The change is larger than the budget of {budget:,} characters (max_code_chars)."
        " Left out (neither diff nor text): img.png."
    )


def test_a_file_whose_whole_text_does_not_fit_is_shown_as_diff_only() -> None:
    shown = fit(["src/a.py"], {"src/a.py": "a" * 5000}, DIFF, 1000)
    assert shown.diff_only == ["src/a.py"] and shown.whole == []
    assert "Shown as diff only: src/a.py." in shown.summary()
