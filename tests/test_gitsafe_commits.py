"""gitsafe.is_commit keeps a full commit id it found: the same id names the same commit for good."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devloop.runtime import gitsafe


def _repo(root: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x.invalid", "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "f").write_text("x\n")
    subprocess.run(["git", "add", "f"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "one"], cwd=root, check=True, env=env)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True).stdout


def test_a_full_id_found_once_is_kept_and_a_name_is_asked_each_time(tmp_path: Path) -> None:
    sha = _repo(tmp_path).strip()
    assert gitsafe.is_commit(tmp_path, sha) and gitsafe.is_commit(tmp_path, "HEAD")
    assert not gitsafe.is_commit(tmp_path, "0" * 40)  # not found: not kept either
    shutil.rmtree(tmp_path / ".git")  # git can no longer answer anything here
    assert gitsafe.is_commit(tmp_path, sha)
    assert not gitsafe.is_commit(tmp_path, "HEAD")
    assert not gitsafe.is_commit(tmp_path, sha[:12])
    assert not gitsafe.is_commit(tmp_path / "other", sha)  # kept per repository
