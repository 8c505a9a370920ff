"""Where an author may write (pure rules, plus links on a real file system)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devloop.steps.reach import CONTROL_FILES, inside, refusal, refused_writes, through_link

EXPECTED = ("plans/a/deviations.md", "scripts/smoke/a.sh")


@pytest.mark.parametrize(
    "rel",
    ["src/a.py", "tests/test_a.py", "scripts/smoke/a.sh", "plans/a/deviations.md", "README.md", "templates/page.html"],
)
def test_the_features_code_and_the_steps_outputs_may_be_written(rel: str) -> None:
    assert refusal("a", rel, EXPECTED, {*CONTROL_FILES, "templates/code_review.md.j2"}) is None


@pytest.mark.parametrize(
    ("rel", "why"),
    [
        ("runs/ledger.jsonl", "runs/"),
        (".devloop/x", ".devloop/"),
        (".git/config", ".git/"),
        ("plans/a/devloop.lock", "lock files"),
        ("src/devloop.lock", "lock files"),
        (".doit.db.dat", "lock files"),
        ("plans/a/.history/1/plan.md", "archived"),
        ("src/.history/x", "archived"),
        ("plans/b/plan.md", "feature 'b'"),
        ("plans/a-b/plan.md", "feature 'a-b'"),
        ("plans/a/reviews.md", "only its own outputs"),
        ("plans/a/plan.md", "only its own outputs"),
        ("scripts/smoke/b.sh", "another feature's smoke script"),
        ("devloop.yaml", "control files"),
        ("dodo.py", "control files"),
        ("templates/code_review.md.j2", "control files"),
    ],
)
def test_everything_else_is_refused_with_a_reason(rel: str, why: str) -> None:
    reason = refusal("a", rel, EXPECTED, {*CONTROL_FILES, "templates/code_review.md.j2"})
    assert reason is not None and why in reason


def test_links_are_never_written_through(tmp_path: Path) -> None:
    root, out = tmp_path / "ws", tmp_path / "out"
    (root / "src").mkdir(parents=True)
    out.mkdir()
    os.symlink(out, root / "src" / "link")
    os.symlink(out / "f.txt", root / "src" / "file-link")
    assert through_link(root, "src/link/x.txt") == "src/link"
    assert through_link(root, "src/file-link") == "src/file-link"
    assert through_link(root, "src/new/x.txt") is None
    refused = refused_writes(root, "a", ["src/link/x.txt", "src/ok.py"], EXPECTED, CONTROL_FILES)
    assert list(refused) == ["src/link/x.txt"] and "symbolic link" in refused["src/link/x.txt"]
    assert not inside(root, root / "src" / "link" / "x.txt")
    assert inside(root, root / "src" / "ok.py")
