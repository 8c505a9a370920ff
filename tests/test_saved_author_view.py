"""The author's view saved between processes (devloop.provenance.cache.shared_view, and the blob ids saved by
devloop.provenance.cache.workstate) is always what a fresh listing and fresh hashing give: every check below
runs as a new process would (nothing kept in memory, no watches), after any sequence of changes to files,
folders, links, modes, ignore rules and git's index, in a real repository."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devloop.config.workspace import Workspace
from devloop.provenance import gitclean, hashing
from devloop.provenance.cache import listing, shared_view, workstate
from devloop.steps import answer_cache, change
from tests.test_author_state_memo import (
    FEATURES,
    act,
    actions,
    fresh_blobs,
    fresh_listing,
    git,
    make_repo,
    uncached_listing,
    write,
)


@pytest.fixture(autouse=True)
def _new_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """No watches: each call below is a process's first author call, which never watches."""
    monkeypatch.setattr(listing, "author_listing", lambda *a, **k: None)
    monkeypatch.setattr(listing, "blob_ids", lambda *a, **k: None)
    monkeypatch.setattr(hashing, "RACY_NS", 150_000_000)  # a racy window of 0.15 s: a "wait" passes it


def new_process() -> None:
    """Forget what this process read: only what was saved under .devloop/ is left."""
    workstate._SEEN.clear()
    workstate._SAVED.clear()
    gitclean._CURRENT.clear()
    gitclean._FILES.clear()


def settle() -> None:
    time.sleep(hashing.RACY_NS / 1e9 + 0.05)


def workspace(root: Path) -> Workspace:
    make_repo(root)
    (root / ".devloop").mkdir()
    settle()
    return Workspace(root)


def author_state(root: Path, feature: str) -> tuple[set[str] | None, dict[str, str]]:
    """What a new process's author call of ``feature`` sees: its listing and each file's id."""
    new_process()
    got = change.listing_for_author(Workspace(root), feature)
    assert got is not None
    return got, workstate.blob_ids(root, sorted(got), save=answer_cache._shared)


def check(root: Path) -> None:
    for feature in FEATURES:
        got, blobs = author_state(root, feature)
        want = uncached_listing(root, feature)
        assert got == want, (feature, sorted(got ^ want) if got is not None and want is not None else None)
        assert blobs == fresh_blobs(root, want)


@settings(
    max_examples=int(os.environ.get("AUTHOR_VIEW_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.long
@given(st.lists(actions, min_size=1, max_size=14))
def test_the_saved_view_and_ids_are_always_the_fresh_ones(steps: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp) / "ws", Path(tmp) / "outside"
        outside.mkdir()
        workspace(root)
        used = shared_view.COUNTS["used"]
        check(root)
        for step in steps:
            act(root, outside, step)
            check(root)
        USED.append(shared_view.COUNTS["used"] - used)


USED: list[int] = []  # per example of the test above: listings taken from the saved view


def test_the_examples_above_used_the_saved_view() -> None:
    if not USED:
        pytest.skip("run with the property test")
    assert sum(USED) >= len(USED), USED  # a listing asked of git every time would prove nothing


def test_a_second_process_asks_git_only_about_the_features_folder(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    workspace(root)
    first = author_state(root, "a")
    assert (root / ".devloop" / shared_view.FILE).is_file()
    assert (root / workstate.SAVED_FILE).is_file()
    calls: list[list[str]] = []
    real = change.gitsafe.run
    change.gitsafe.run = lambda r, args, **k: calls.append(args) or real(r, args, **k)  # type: ignore[assignment]
    try:
        assert author_state(root, "a") == first
    finally:
        change.gitsafe.run = real  # type: ignore[assignment]
    assert calls == [[*listing.LS_FILES, "plans/a"]]
    assert first[0] == fresh_listing(root, "a")


def test_after_a_commit_the_folders_are_not_walked_again(tmp_path: Path) -> None:
    """A commit moves only git's index: git lists again, and the folders' saved stats still prove the rest."""
    root = tmp_path / "ws"
    workspace(root)
    write(root / "src/new.py", "x\n")
    settle()
    author_state(root, "a")  # saved with src/new.py untracked
    git(root, "add", "src/new.py")
    git(root, "commit", "-qm", "new")
    settle()
    kept, used = shared_view.COUNTS["kept folders"], shared_view.COUNTS["used"]
    got, blobs = author_state(root, "a")
    assert shared_view.COUNTS["kept folders"] == kept + 1 and shared_view.COUNTS["used"] == used
    assert got == uncached_listing(root, "a") and blobs == fresh_blobs(root, got)
    again, _ = author_state(root, "a")
    assert again == got and shared_view.COUNTS["used"] == used + 1  # the view saved after the commit holds
    write(root / "src/other.py", "y\n")  # a folder changed too: walked again
    git(root, "add", "src/other.py")
    settle()
    got, _ = author_state(root, "a")
    assert got == uncached_listing(root, "a") and shared_view.COUNTS["kept folders"] == kept + 1


def test_a_rule_changed_outside_the_folders_walks_them_again(tmp_path: Path) -> None:
    """Only a moved index keeps the folders' proof: a folder that ``info/exclude`` stops ignoring is walked."""
    root = tmp_path / "ws"
    workspace(root)
    write(root / ".git/info/exclude", "build/\n")
    write(root / "build/a.txt", "a\n")
    settle()
    assert "build/a.txt" not in author_state(root, "a")[0]
    write(root / ".git/info/exclude", "")
    settle()
    assert "build/a.txt" in author_state(root, "a")[0]  # saved: build/ is a folder git walks now
    write(root / "build/b.txt", "b\n")
    got, blobs = author_state(root, "a")
    assert "build/b.txt" in got and got == uncached_listing(root, "a") and blobs == fresh_blobs(root, got)


def test_a_file_in_a_folder_git_lists_nothing_from_is_seen(tmp_path: Path) -> None:
    """An empty folder (or one holding only ignored files) is walked by git: a new file there is listed."""
    root = tmp_path / "ws"
    (root / "empty").mkdir(parents=True)
    make_repo_in(root)
    write(root / "logs/run.log", "ignored\n")  # *.log is ignored: git lists nothing from logs/
    settle()
    author_state(root, "a")
    for rel in ("empty/new.py", "logs/new.py"):
        write(root / rel, "x\n")
        got, blobs = author_state(root, "a")
        assert rel in got and blobs[rel] == fresh_blobs(root, {rel})[rel]


def test_a_new_file_in_an_ignored_folder_leaves_the_saved_view_in_use(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_repo_in(root)
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / "build").mkdir()
    settle()
    author_state(root, "a")
    settle()
    author_state(root, "a")  # the .gitignore written above: saved by this listing, once it has settled
    used = shared_view.COUNTS["used"]
    write(root / "build/out.o", "binary\n")
    got, _ = author_state(root, "a")
    assert "build/out.o" not in got
    assert shared_view.COUNTS["used"] == used + 1  # git ignores build/: its folder is not part of the proof


def test_a_listing_made_right_after_a_change_is_not_saved(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    workspace(root)
    write(root / "src/new.py", "x\n")  # src/ changed now: a later change in the same tick could hide
    author_state(root, "a")
    assert not (root / ".devloop" / shared_view.FILE).exists()
    settle()
    author_state(root, "a")
    assert (root / ".devloop" / shared_view.FILE).exists()


def test_a_nested_repository_leaves_nothing_saved(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    workspace(root)
    git(root / "src", "init", "-q")
    settle()
    got, _ = author_state(root, "a")
    assert got == uncached_listing(root, "a")
    assert not (root / ".devloop" / shared_view.FILE).exists()


@pytest.mark.parametrize("damage", ["garbage", "other home", "listed not strings", "blob ids not strings"])
def test_a_damaged_or_foreign_saved_view_is_not_used(tmp_path: Path, damage: str, monkeypatch) -> None:
    root = tmp_path / "ws"
    workspace(root)
    author_state(root, "a")
    view, ids = root / ".devloop" / shared_view.FILE, root / workstate.SAVED_FILE
    data = json.loads(view.read_text())
    if damage == "garbage":
        view.write_text("{not json")
        ids.write_text("[1, 2")
    elif damage == "other home":
        monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    elif damage == "listed not strings":
        view.write_text(json.dumps({**data, "listed": [1, 2]}))
    else:
        saved = json.loads(ids.read_text())
        ids.write_text(json.dumps({**saved, "blobs": [1] * len(saved["blobs"])}))
    used = shared_view.COUNTS["used"]
    got, blobs = author_state(root, "a")
    assert got == uncached_listing(root, "a") and blobs == fresh_blobs(root, got)
    if damage != "blob ids not strings":
        assert shared_view.COUNTS["used"] == used


def test_a_file_rewritten_in_place_gets_its_new_id(tmp_path: Path) -> None:
    """The saved id is proven by the file's stat: new bytes (same size, mtime put back) change the ctime."""
    root = tmp_path / "ws"
    workspace(root)
    _, before = author_state(root, "a")
    path = root / "src/app.py"
    st_ = os.stat(path)
    path.write_bytes(path.read_bytes().upper())
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    _, after = author_state(root, "a")
    assert after["src/app.py"] != before["src/app.py"]
    assert after == fresh_blobs(root, set(after))


def test_turned_off_with_the_watches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(listing.OFF, "1")
    root = tmp_path / "ws"
    workspace(root)
    author_state(root, "a")
    assert not (root / ".devloop" / shared_view.FILE).exists()
    assert not (root / workstate.SAVED_FILE).exists()


def test_nothing_is_saved_on_a_file_system_that_is_not_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A network file system's folder stats may lag another machine's changes: as for the watches, not there."""
    monkeypatch.setattr(listing, "_local", lambda root: False)
    shared_view._local.cache_clear()
    try:
        root = tmp_path / "ws"
        workspace(root)
        got, _ = author_state(root, "a")
        assert got == uncached_listing(root, "a")
        assert not (root / ".devloop" / shared_view.FILE).exists()
    finally:
        shared_view._local.cache_clear()


def make_repo_in(root: Path) -> None:
    """make_repo in a folder that may exist already, with a state folder."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.invalid")
    for rel in ("src/app.py", "README.md", "plans/a/plan.md"):
        write(root / rel, f"{rel}\n")
    (root / ".gitignore").write_text("*.log\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    (root / ".devloop").mkdir(exist_ok=True)
