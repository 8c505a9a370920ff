"""Where a confined program may write: the reach policy (pure rules, plus links and binds on a real file system)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devloop.confine.reach import CONTROL_FILES, IMPLEMENTER, JUDGE, PLANNER, Reach, inside, refused, through_link

EXPECTED = frozenset({"plans/a/deviations.md", "scripts/smoke/a.sh"})
CONTROL = frozenset({*CONTROL_FILES, "templates/code_review.md.j2"})


def implementer(root: Path = Path("/ws"), installed: tuple[str, ...] = ()) -> Reach:
    return Reach(root, IMPLEMENTER, "a", EXPECTED, CONTROL, installed)


@pytest.mark.parametrize(
    "rel",
    [
        "src/a.py",
        "tests/test_a.py",
        "scripts/smoke/a.sh",
        "plans/a/deviations.md",
        "README.md",
        "templates/page.html",
        ".gitignore",
        "vendor/.git/config",  # a nested repository is the implementer's code: shown to judges, never hidden
    ],
)
def test_the_features_code_and_the_steps_outputs_may_be_written(rel: str) -> None:
    assert implementer().why_not(rel) is None


@pytest.mark.parametrize(
    ("rel", "why"),
    [
        ("runs/ledger.jsonl", "runs/"),
        (".devloop/x", ".devloop/"),
        (".git/config", ".git/"),
        (".git/hooks/pre-commit", ".git/"),
        ("plans/a/devloop.lock", "lock files"),
        ("src/devloop.lock", "lock files"),
        (".doit.db.dat", "lock files"),
        ("plans/a/.history/1/plan.md", "archived"),
        ("src/.history/x", "archived"),
        ("plans/b/plan.md", "feature 'b'"),
        ("plans/a-b/plan.md", "feature 'a-b'"),
        ("plans/README.md", "features' folders"),
        ("plans/a/reviews.md", "only its own outputs"),
        ("plans/a/plan.md", "only its own outputs"),
        ("scripts/smoke/b.sh", "another feature's smoke script"),
        ("devloop.yaml", "control files"),
        ("dodo.py", "control files"),
        ("templates/code_review.md.j2", "control files"),
        (".github/workflows/ci.yml", "CI configuration"),
        (".gitlab-ci.yml", "CI configuration"),
    ],
)
def test_everything_else_is_refused_with_a_reason(rel: str, why: str) -> None:
    reason = implementer().why_not(rel)
    assert reason is not None and why in reason


def test_a_judge_writes_nothing_and_a_planner_only_its_feature_folder() -> None:
    judge = Reach(Path("/ws"), JUDGE, "a")
    assert judge.why_not("src/a.py") is not None and judge.why_not("plans/a/plan.md") is not None
    planner = Reach(Path("/ws"), PLANNER, "a", frozenset({"plans/a/plan.md", "plans/a/validation.md"}))
    assert planner.why_not("plans/a/plan.md") is None
    assert "only under plans/a/" in (planner.why_not("src/a.py") or "")
    assert "only its own outputs" in (planner.why_not("plans/a/reviews.md") or "")
    assert "feature 'b'" in (planner.why_not("plans/b/plan.md") or "")


def test_devloops_own_installation_inside_the_workspace_is_out_of_reach() -> None:
    reach = implementer(installed=(".venv",))
    assert "devloop's own installation" in (reach.why_not(".venv/lib/python3.11/site-packages/devloop/x.py") or "")
    assert reach.why_not(".venvs/other") is None


def test_links_are_never_written_through(tmp_path: Path) -> None:
    root, out = tmp_path / "ws", tmp_path / "out"
    (root / "src").mkdir(parents=True)
    out.mkdir()
    os.symlink(out, root / "src" / "link")
    os.symlink(out / "f.txt", root / "src" / "file-link")
    assert through_link(root, "src/link/x.txt") == "src/link"
    assert through_link(root, "src/file-link") == "src/file-link"
    assert through_link(root, "src/new/x.txt") is None
    got = refused(implementer(root), ["src/link/x.txt", "src/ok.py"])
    assert list(got) == ["src/link/x.txt"] and "symbolic link" in got["src/link/x.txt"]
    assert not inside(root, root / "src" / "link" / "x.txt")
    assert inside(root, root / "src" / "ok.py")


def test_the_bind_list_does_not_grow_with_the_features(tmp_path: Path) -> None:
    """plans/ is bound whole; only the feature's own folder's entries are listed again."""
    root = tmp_path / "ws"
    for f in ("a", *(f"f{i}" for i in range(50))):
        (root / "plans" / f).mkdir(parents=True)
        (root / "plans" / f / "plan.md").write_text("x")
    (root / "scripts" / "smoke").mkdir(parents=True)
    for f in range(50):
        (root / "scripts" / "smoke" / f"f{f}.sh").write_text("x")
    for name in (".git", "runs", ".devloop"):
        (root / name).mkdir()
    (root / "devloop.yaml").write_text("x")
    (root / "plans" / "a" / "deviations.md").write_text("x")
    reach = implementer(root)
    assert reach.protected() == [".git", "runs", ".devloop", "plans", "scripts/smoke", "devloop.yaml"]
    assert reach.own_protected() == ["plans/a/plan.md"], "the outputs stay writable"
    assert reach.anchors() == ["scripts"], "a folder that holds a protected one cannot be renamed away"
