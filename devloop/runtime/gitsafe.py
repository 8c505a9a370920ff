"""devloop's own git calls: never a program the repository (or an agent) configured.

git runs programs named in its configuration: fsmonitor, hooks, external
diff, textconv and filter drivers, pagers, askpass, credential helpers. An
agent that can write ``.git/config``, ``~/.gitconfig`` or a file an
``include.path`` names could make devloop's own git run its program with
devloop's whole environment. So every git call devloop makes:

- resolves ``git`` outside the workspace (a ``git`` planted on a PATH
  folder inside it is never the one run);
- runs with an allow-listed environment (no secret of devloop's, no
  ``GIT_DIR``/``GIT_CONFIG_*`` from the caller);
- overrides, on the command line (which wins over every config file), each
  setting that names a program or a hook folder;
- uses only commands that never read the work tree through filters
  (``ls-files``, ``cat-file --batch``, ``rev-parse``, ``check-ignore``):
  devloop computes diffs itself (see :mod:`devloop.steps.change`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

# Settings that name a program or a place programs are taken from, each switched off.
OVERRIDES = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.editor=false",
    "core.askPass=",
    "core.sshCommand=false",
    "core.untrackedCache=false",
    "core.alternateRefsCommand=",
    "credential.helper=",
    "diff.external=",
    "gpg.program=false",
    "sequence.editor=false",
    "protocol.allow=never",
    "uploadpack.packObjectsHook=",
)
# Variables git reads besides its own: only what it needs to find a home (and its XDG config) and speak a language.
ENV_NAMES = ("HOME", "XDG_CONFIG_HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")


def git_program(root: Path) -> str | None:
    """The absolute path of ``git`` from PATH folders outside ``root`` (None when there is none)."""
    real_root = os.path.realpath(root)
    folders = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or not os.path.isabs(folder):
            continue  # a relative PATH entry is a folder of wherever devloop runs: the workspace
        real = os.path.realpath(folder)
        if real == real_root or real.startswith(real_root.rstrip("/") + "/"):
            continue
        folders.append(folder)
    return shutil.which("git", path=os.pathsep.join(folders))


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """An allow-listed environment for git: no caller's GIT_* and no secrets."""
    env = {name: os.environ[name] for name in ENV_NAMES if name in os.environ}
    env.update(
        PATH=os.defpath,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",  # a read never rewrites the index
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_LITERAL_PATHSPECS="1",  # a path is a path, never a pattern
        GIT_PAGER="cat",
        GIT_ASKPASS="",
        GIT_EXTERNAL_DIFF="",
    )
    env.update(extra or {})
    return env


def argv(program: str, args: list[str]) -> list[str]:
    out = [program]
    for setting in OVERRIDES:
        out += ["-c", setting]
    return [*out, *args]


def run(
    root: Path, args: list[str], stdin: bytes | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes] | None:
    """``git <args>`` in ``root``, made safe (see the module docstring); None when git cannot run."""
    program = git_program(root)
    if program is None:
        return None
    try:
        return subprocess.run(
            argv(program, args),
            cwd=root,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=environment(env),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def head(root: Path) -> str | None:
    """The commit checked out in ``root``, or None (no repository, no commit yet)."""
    done = run(root, ["rev-parse", "--verify", "-q", "HEAD"], timeout=30)
    if done is None or done.returncode != 0:
        return None
    return done.stdout.decode("ascii", "replace").strip() or None


def blobs(root: Path, commit: str, paths: list[str]) -> dict[str, bytes | None]:
    """Each path's content at ``commit`` (None where it did not exist), read raw: no filter, no textconv."""
    if not paths:
        return {}
    request = "".join(f"{commit}:{p}\n" for p in paths).encode("utf-8", "surrogateescape")
    done = run(root, ["cat-file", "--batch"], stdin=request, timeout=120)
    out: dict[str, bytes | None] = dict.fromkeys(paths)
    if done is None or done.returncode != 0:
        return out
    data, pos = done.stdout, 0
    for p in paths:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        header = data[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            out[p] = data[pos : pos + size]
            pos += size + 1
        elif len(header) == 3:  # a tree or a commit (submodule) at that path: not a file's content
            pos += int(header[2]) + 1
    return out


def is_commit(root: Path, rev: str) -> bool:
    """Whether ``rev`` names a commit in ``root``'s repository; a full commit id found once is not asked again."""
    if (root, rev) in _COMMITS:
        return True
    done = run(root, ["cat-file", "-e", f"{rev}^{{commit}}"], timeout=30)
    found = done is not None and done.returncode == 0
    if found and _FULL_ID.fullmatch(rev):  # an id names the same object for good (a branch name does not)
        _COMMITS.add((root, rev))
    return found


_COMMITS: set[tuple[Path, str]] = set()
_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
