"""git's index as proof of a file's content: only entries git itself would call clean, paired by a lock."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from devloop.provenance import gitclean, hashing
from devloop.provenance.hashing import hash_bytes, hash_file, key_of
from devloop.provenance.lockfile import read_lock, write_lock
from devloop.provenance.state import FeatureLock

GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "init.defaultBranch=main"]


def git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed repository whose index was written well after its files (no entry is racily clean)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for name, text in {"a.txt": "alpha\n", "b.txt": "beta\n", "sub/c.txt": "gamma\n", "blank.md": "  \n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    os.symlink("a.txt", root / "link.txt")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "files")
    time.sleep(0.05)  # past the timestamp tick of the files
    git(root, "update-index", "--refresh")
    return root


@pytest.fixture(autouse=True)
def _fresh_tables() -> None:
    gitclean.BLOBS.clear()
    gitclean.SHAS.clear()
    gitclean._index.clear()
    hashing._seen.clear()


def key(path: Path) -> tuple[int, int, int, int]:
    return key_of(os.stat(path))


def test_a_blob_id_is_git_s_own() -> None:
    data = b"alpha\n"
    assert gitclean.blob_id(data) == hashlib.sha1(b"blob 6\0alpha\n").hexdigest()


def test_clean_files_give_the_blob_git_recorded(repo: Path) -> None:
    index = gitclean.load(repo)
    assert index is not None
    for name in ("a.txt", "sub/c.txt"):
        assert index.clean(name, key(repo / name)) == gitclean.blob_id((repo / name).read_bytes())
    assert index.clean("link.txt", key(repo / "link.txt")) is None  # a symlink: not a file's bytes
    assert index.clean("nope.txt", key(repo / "a.txt")) is None  # not tracked


def test_a_changed_file_is_not_clean_even_with_its_old_size_and_mtime(repo: Path) -> None:
    index = gitclean.load(repo)
    assert index is not None
    path = repo / "a.txt"
    st = os.stat(path)
    path.write_text("ALPHA\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the old mtime put back: the ctime still moves
    assert index.clean("a.txt", key(path)) is None


def test_racily_clean_entries_and_flagged_entries_are_not_trusted(repo: Path) -> None:
    index = gitclean.load(repo)
    assert index is not None
    k = key(repo / "a.txt")
    assert index.clean("a.txt", k) is not None
    newest = max(k[1], k[2])
    index.written = newest  # the index written in the file's own timestamp tick: racily clean
    assert index.clean("a.txt", k) is None
    index.written = newest + 1
    assert index.clean("a.txt", k) is not None
    git(repo, "update-index", "--assume-unchanged", "sub/c.txt")
    index = gitclean.load(repo)
    assert index is not None and index.clean("sub/c.txt", key(repo / "sub/c.txt")) is None


def test_only_a_hash_a_lock_paired_with_the_blob_is_given_and_nothing_is_read(repo: Path) -> None:
    data = (repo / "a.txt").read_bytes()
    sha = hash_bytes(data)
    gitclean.enable(repo)
    assert gitclean.lookup(f"{repo}/a.txt", key(repo / "a.txt")) is None  # no lock paired it: hash it
    gitclean.learn({sha: gitclean.blob_id(data)})
    before = dict(hashing.COUNTS)
    assert hash_file(f"{repo}/a.txt") == sha
    assert hashing.COUNTS["git"] == before["git"] + 1 and hashing.COUNTS["read"] == before["read"]
    assert hash_file(f"{repo}/b.txt") == hash_bytes(b"beta\n")  # b.txt is not paired: read
    assert hashing.COUNTS["read"] == before["read"] + 1


def test_a_wrong_pair_is_never_used_for_a_file_git_does_not_vouch_for(repo: Path) -> None:
    """A lock pairs a hash with a blob; a file whose stat no longer matches its index entry is read."""
    data = (repo / "a.txt").read_bytes()
    gitclean.learn({hash_bytes(data): gitclean.blob_id(data)})
    gitclean.enable(repo)
    (repo / "a.txt").write_text("changed\n")
    assert hash_file(f"{repo}/a.txt") == hash_bytes(b"changed\n")


def test_outside_a_repository_nothing_is_proven(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x\n")
    gitclean.learn({hash_bytes(b"x\n"): gitclean.blob_id(b"x\n")})
    gitclean.enable(tmp_path)
    assert gitclean.lookup(f"{tmp_path}/x.txt", key(tmp_path / "x.txt")) is None
    assert hash_file(tmp_path / "x.txt") == hash_bytes(b"x\n")


def test_a_lock_carries_the_blob_of_each_file_hash_it_records_and_a_read_teaches_them(tmp_path: Path) -> None:
    (tmp_path / "plan.md").write_text("# Plan\n")
    (tmp_path / "blank.md").write_text("\n")
    sha = hash_file(tmp_path / "plan.md")
    blank = hash_file(tmp_path / "blank.md")
    lock = FeatureLock("f")
    lock.artifacts["plans/f/plan.md"] = {"sha256": sha, "step": "plan"}
    lock.step("plan").inputs = {"plans/f/brief.md": blank, "config": hash_bytes(b"not a file")}
    path = tmp_path / "devloop.lock"
    write_lock(path, lock)
    assert lock.blobs == {sha: gitclean.blob_id(b"# Plan\n")}  # the blank one and the non-file one: none
    gitclean.BLOBS.clear()
    gitclean.SHAS.clear()
    again = read_lock(path, "f")
    assert again.blobs == lock.blobs and gitclean.SHAS == {gitclean.blob_id(b"# Plan\n"): sha}
    # a pair stays while the lock still records its hash, even in a process that never read the file
    again.step("plan").state = "done"
    write_lock(path, again)
    assert read_lock(path, "f").blobs == lock.blobs
    del again.artifacts["plans/f/plan.md"]
    write_lock(path, again)
    assert read_lock(path, "f").blobs == {}


def test_the_index_kept_for_a_process_is_read_again_once_git_rewrites_it(repo: Path) -> None:
    first = gitclean.current(repo)
    assert first is not None and gitclean.current(repo) is first  # unchanged index: no second read
    (repo / "a.txt").write_text("ALPHA\n")
    assert first.clean("a.txt", key(repo / "a.txt")) is None  # the kept table still judges each file's stat
    git(repo, "add", "a.txt")
    time.sleep(0.05)
    git(repo, "update-index", "--refresh")
    second = gitclean.current(repo)
    assert second is not first
    assert second is not None and second.clean("a.txt", key(repo / "a.txt")) == gitclean.blob_id(b"ALPHA\n")


def _both(root: Path, prefix: str = "") -> tuple[gitclean.Index, gitclean.Index]:
    """The index as devloop reads it (the file's bytes) and as ``git ls-files --stage --debug`` prints it."""
    index_file = root / ".git/index" if not prefix else root.parent / ".git/index"
    data = index_file.read_bytes()
    raw = gitclean.parse_raw(data, prefix.encode(), index_file.stat().st_mtime_ns)
    listing = subprocess.run([*GIT, "ls-files", "--stage", "--debug", "-z"], cwd=root, check=True, capture_output=True)
    assert raw is not None
    return raw, gitclean.parse(listing.stdout, index_file.stat().st_mtime_ns)


def test_the_index_read_from_its_bytes_says_what_git_s_own_listing_says_for_every_kind_of_entry(repo: Path) -> None:
    for name in ("run.sh", "kept.txt", "hidden.txt", "new.txt"):
        (repo / name).write_text(f"{name}\n")
    os.chmod(repo / "run.sh", 0o755)
    git(repo, "add", "run.sh", "kept.txt", "hidden.txt")
    git(repo, "add", "-N", "new.txt")  # intent to add: an extended flag
    git(repo, "commit", "-qm", "more")
    git(repo, "update-index", "--assume-unchanged", "kept.txt")
    git(repo, "update-index", "--skip-worktree", "hidden.txt")
    time.sleep(0.05)
    subprocess.run([*GIT, "update-index", "-q", "--refresh"], cwd=repo, capture_output=True)  # new.txt: "needs update"
    raw, listed = _both(repo)
    files = [p for p in git(repo, "ls-files", "-z").split("\0") if p]
    assert len(files) >= 8
    trusted = 0
    for rel in files:
        k = key_of(os.lstat(repo / rel))
        assert raw.clean(rel, k) == listed.clean(rel, k), rel
        trusted += raw.clean(rel, k) is not None
    assert trusted >= 5
    assert raw.clean("kept.txt", key(repo / "kept.txt")) is None  # assume-unchanged
    assert raw.clean("hidden.txt", key(repo / "hidden.txt")) is None  # skip-worktree
    assert raw.clean("new.txt", key(repo / "new.txt")) is None  # intent to add
    assert raw.clean("link.txt", key_of(os.lstat(repo / "link.txt"))) is None  # a link


def test_a_workspace_in_a_subfolder_sees_its_own_entries_by_its_own_paths(repo: Path) -> None:
    raw, listed = _both(repo / "sub", "sub/")
    k = key(repo / "sub/c.txt")
    assert raw.clean("c.txt", k) == listed.clean("c.txt", k) == git(repo, "rev-parse", "HEAD:sub/c.txt").strip()
    assert raw.clean("a.txt", key(repo / "a.txt")) is None  # above the workspace
    assert gitclean.load(repo / "sub").clean("c.txt", k) == raw.clean("c.txt", k)


@pytest.mark.parametrize("split", [False, True])
def test_an_index_in_another_format_is_read_through_git(repo: Path, split: bool) -> None:
    if split:  # kept split by every later write
        git(repo, "config", "core.splitIndex", "true")
        git(repo, "update-index", "--split-index")
    else:
        git(repo, "update-index", "--index-version", "4")
    data = (repo / ".git/index").read_bytes()
    assert (data[4:8] == b"\0\0\0\4") != split
    assert gitclean.parse_raw(data, b"", (repo / ".git/index").stat().st_mtime_ns) is None
    index = gitclean.load(repo)
    assert index is not None and not isinstance(index, gitclean.RawIndex)
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    assert index.clean("a.txt", key(repo / "a.txt")) in ((None, blob) if split else (blob,))  # never another


def test_a_cut_or_altered_index_file_is_not_read(repo: Path) -> None:
    data = (repo / ".git/index").read_bytes()
    assert gitclean.parse_raw(data, b"", 1) is not None
    assert gitclean.parse_raw(data[:-1], b"", 1) is None
    flipped = bytearray(data)
    flipped[40] ^= 1  # one bit of an entry's inode
    assert gitclean.parse_raw(bytes(flipped), b"", 1) is None
