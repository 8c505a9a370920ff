"""An author's key lists what git lists outside the loop's folders, plus its own feature's folder, without walking
every other feature's folder: the same set as the whole listing, filtered."""

from __future__ import annotations

import os

from pytest import MonkeyPatch

from devloop.config.workspace import Workspace
from devloop.provenance.cache import listing, workstate
from devloop.steps import answer_cache, change
from tests.conftest import WS


def test_the_author_listing_is_the_whole_listing_without_the_loop_s_other_folders(ws: WS) -> None:
    ws.add_feature("a")
    ws.add_feature("b")
    files = {
        "src/app.py": "print(1)\n", "src/deep/mod.py": "x = 1\n", ".gitignore": "ignored/\n*.log\n",
        "ignored/secret.txt": "no\n", "notes.log": "no\n", "README.md": "hi\n", ".env.example": "A=1\n",
        "plans/a/extra.md": "own\n", "plans/b/extra.md": "other\n", "runs/out.txt": "run\n",
        "weird name: x.txt": "odd\n", "*.txt": "a star\n",
    }  # fmt: skip
    for rel, text in files.items():
        (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / rel).write_text(text)
    ws.git("add", "src/app.py", ".gitignore", "README.md")
    w = Workspace(ws.root)
    whole = change.listing(w)
    assert whole is not None
    for feature in ("a", "b"):
        own = f"plans/{feature}/"
        want = {p for p in whole if not change.is_loop_file(p) or p.startswith(own)}
        got = change.listing_for_author(w, feature)
        assert got == want, got ^ want if got is not None else None
        assert "src/deep/mod.py" in got and "weird name: x.txt" in got and "*.txt" in got
        assert "ignored/secret.txt" not in got and "notes.log" not in got and "runs/out.txt" not in got
        other = "b" if feature == "a" else "a"
        assert f"plans/{feature}/extra.md" in got and not any(p.startswith(f"plans/{other}/") for p in got)


def test_an_author_s_state_kept_between_calls_is_the_state_found_afresh(ws: WS, monkeypatch: MonkeyPatch) -> None:
    """Through answer_cache.state, with a feature's lock: after each change the state kept in this process
    (listing and blob ids, see devloop.provenance.cache.listing) is the one today's way finds, nothing kept."""
    ws.add_feature("a")
    ws.add_feature("b")
    for rel, text in {"src/app.py": "print(1)\n", "src/lib/util.py": "x = 1\n", ".gitignore": "*.log\n"}.items():
        (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / rel).write_text(text)
    ws.git("add", "-A")
    ws.git("commit", "-qm", "start")
    w = Workspace(ws.root)
    lock = w.read_lock("a")

    def fresh() -> dict[str, str]:
        monkeypatch.setenv(listing.OFF, "1")
        workstate._SEEN.clear()  # every file hashed again
        try:
            return answer_cache.state(Workspace(ws.root), lock, "implement", "a")
        finally:
            monkeypatch.delenv(listing.OFF)

    def same_size_same_mtime(rel: str) -> None:
        path = ws.root / rel
        before = os.stat(path)
        path.write_text(path.read_text().replace("1", "2"))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    steps = [
        lambda: (ws.root / "src/app.py").write_text("print(2)\n"),
        lambda: (ws.root / "src/new.py").write_text("new\n"),
        lambda: (ws.root / "src/new.log").write_text("ignored\n"),
        lambda: (ws.root / ".gitignore").write_text("*.log\nnew.py\n"),
        lambda: os.chmod(ws.root / "src/app.py", 0o755),
        lambda: os.symlink("app.py", ws.root / "src/link.py"),
        lambda: same_size_same_mtime("src/lib/util.py"),
        lambda: (ws.root / "plans/a/notes.md").write_text("own\n"),
        lambda: (ws.root / "plans/b/notes.md").write_text("another feature's\n"),
        lambda: (ws.root / "src/lib/empty").mkdir(),
        lambda: (ws.root / "src/lib/empty/later.py").write_text("later\n"),
        lambda: ws.git("add", "-A"),
        lambda: ws.git("rm", "-q", "--cached", "src/app.py"),
        lambda: (ws.root / "src/lib/util.py").unlink(),
    ]
    try:
        assert answer_cache.state(w, lock, "implement", "a") == fresh()
        for step in steps:
            step()
            change.forget(w)  # as a run does after its writes
            assert answer_cache.state(w, lock, "implement", "a") == fresh()
        assert str(w.root) in listing._TREES
    finally:
        listing.drop(w.root)


def test_git_is_not_sent_into_the_features_archives_and_no_other_history_folder_is_left_out(ws: WS) -> None:
    """An archive gains a folder with each overwrite: git skips the features' archives (untracked or committed,
    none of it is an input); a folder named .history anywhere else is the user's and stays listed."""
    ws.add_feature("a")
    files = {
        "plans/a/.history/20261207-120000.plan/plans/a/plan.md": "old\n",
        "plans/a/.history/committed.md": "old, committed\n",
        "plans/a/notes.md": "own\n",
        "src/.history/mod.py": "theirs\n",
        ".history/top.md": "theirs\n",
    }
    for rel, text in files.items():
        (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / rel).write_text(text)
    ws.git("add", "-f", "plans/a/.history/committed.md")
    raw = ws.git(*listing.LS_FILES, "plans/a", "src", ".history")
    named = set(raw.stdout.split("\0"))
    assert "plans/a/.history/20261207-120000.plan/plans/a/plan.md" not in named  # git did not list it
    assert {"plans/a/notes.md", "src/.history/mod.py", ".history/top.md"} <= named
    w = Workspace(ws.root)
    for got in (change.listing_for_author(w, "a"), change.listing(w)):
        assert got is not None
        assert not any(change.archived(p) for p in got), sorted(p for p in got if change.archived(p))
        assert {"src/.history/mod.py", ".history/top.md"} <= got
    assert change.archived("plans/a/.history/x.md") and not change.archived("plans/a/history/x.md")
    assert not change.archived("src/.history/mod.py") and not change.archived("plans/.history/x.md")
