"""A feature's proof: one committed line that lets a fresh clone take the fast path without judging a step.

When a run leaves every step of a feature up to date, devloop appends to its
lock one line, ``# devloop proof: {...}``, holding:

- ``body``: the sha256 of the lock's bytes before that line (the records the
  answers were judged from);
- ``stamp``: :func:`stamp` of what judging rests on besides files: this
  devloop (version and the content of its modules and templates), the
  workspace's ``templates/`` and ``devloop.yaml``, by content, so that the
  same checkout on another machine has the same stamp;
- ``files``: every file and folder the feature's answers rest on (the
  verdict memo's list for each step, the lock itself and files outside the
  workspace left out), each with its git blob id, ``""`` when it was
  missing, or ``d:`` and a hash of its sorted names for a folder;
- ``answers``: each step's state and reasons as the judge gave them.

The answers are a function of exactly those (the verdict memo rests on the
same list by stat), so when all of them are as recorded, the answers hold:
:func:`holds` checks it. A file git's index proves clean is not read (git's
own racy-clean rule, :mod:`devloop.provenance.gitclean`); any other file is
read and its blob id computed. A file must be a regular file, not a link,
and no folder on its way below the workspace may be a link. Anything else,
including a lock that was edited, another devloop, or another
``devloop.yaml``: the proof does not hold, and the steps are judged from the
lock as before. The line is a comment for YAML and is dropped by devloop's
own lock reader; any rewrite of the lock drops it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from devloop import __version__
from devloop.provenance import gitclean

FORMAT = 1
MARK = b"# devloop proof: "
Answers = dict[str, list[Any]]  # step -> [state, reasons]


def split(raw: bytes) -> tuple[bytes, dict[str, Any] | None]:
    """The lock's bytes without its proof line, and the proof (None when absent or not readable)."""
    at = raw.rfind(b"\n" + MARK)
    if at < 0 or not raw.endswith(b"\n"):
        return raw, None
    body, line = raw[: at + 1], raw[at + 1 + len(MARK) : -1]
    if b"\n" in line:
        return raw, None
    try:
        proof = json.loads(line)
    except ValueError:
        return body, None
    return body, proof if isinstance(proof, dict) else None


def line(body: bytes, stamp_text: str, files: dict[str, str], answers: Answers) -> bytes:
    """The proof line for a lock whose bytes are ``body``."""
    proof = {
        "format": FORMAT,
        "body": hashlib.sha256(body).hexdigest(),
        "stamp": stamp_text,
        "files": dict(sorted(files.items())),
        "answers": answers,
    }
    return MARK + json.dumps(proof, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


@functools.cache
def _package() -> str:
    """The content of devloop's own modules and templates, by path below the package (same on every machine)."""
    top = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(__version__.encode())
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".j2")):
                path = os.path.join(folder, name)
                with open(path, "rb") as fh:
                    data = fh.read()
                h.update(f"{os.path.relpath(path, top)}\0{len(data)}\0".encode("utf-8", "surrogateescape"))
                h.update(data)
    return h.hexdigest()


_stamps: dict[str, str] = {}


def stamp(root: Path, again: bool = False) -> str:
    """What every answer rests on besides the feature's files, by content (taken once per process and root).

    ``again`` takes it afresh (the writer compares it before and after judging).
    """
    key = str(root)
    hit = _stamps.get(key)
    if hit is not None and not again:
        return hit
    h = hashlib.sha256(f"{FORMAT}\0{_package()}\0".encode())
    for folder, dirs, files in os.walk(root / "templates"):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            h.update(os.path.relpath(path, root).encode("utf-8", "surrogateescape") + b"\0")
            h.update(_content(path))
    h.update(b"devloop.yaml\0" + _content(str(root / "devloop.yaml")))
    _stamps[key] = out = h.hexdigest()[:32]
    return out


def _content(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return b"<missing>"
    except IsADirectoryError:
        return b"<folder>"
    return hashlib.sha256(data).hexdigest().encode()


def folder_id(path: str) -> str:
    """A folder's names (sorted), hashed: a file added, removed or renamed in it changes this."""
    names = sorted(os.listdir(path))
    return "d:" + hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()[:40]


class Checker:
    """Checks proofs against the work tree of one workspace; git's index is used when given."""

    def __init__(
        self, root: Path, index: gitclean.Index | None = None, known: dict[str, tuple[Any, str]] | None = None
    ) -> None:
        self.root = f"{root}/"
        self.index = index
        # full path -> (stat key, blob id) of files this process has just written with known bytes: a file
        # whose stat is still that key is not read again (the caller scopes it to the writes it vouches for)
        self.known = known if known is not None else {}
        self.stamp = stamp(root)
        self._dirs: dict[str, bool] = {}  # folder below the root -> a real folder, not a link
        self.seen: dict[str, tuple[int, int, int, int] | None] = {}  # full path -> the stat key checked

    def holds(self, raw: bytes) -> tuple[Answers, list[str]] | None:
        """The answers of a lock's proof and the files they rest on, when the proof holds now; else None."""
        self.seen = {}
        body, proof = split(raw)
        if proof is None:
            return None
        try:
            if proof.get("format") != FORMAT or proof.get("stamp") != self.stamp:
                return None
            if proof.get("body") != hashlib.sha256(body).hexdigest():
                return None
            files, answers = proof["files"], proof["answers"]
            if not isinstance(files, dict) or not isinstance(answers, dict):
                return None
            for rel, want in files.items():
                if not self._is(rel, want):
                    return None
        except (KeyError, TypeError, AttributeError, ValueError):
            return None
        return answers, list(files)

    def _is(self, rel: str, want: str) -> bool:
        if not isinstance(rel, str) or not isinstance(want, str) or not _relative(rel):
            return False
        full = self.root + rel
        if not self._on_the_way(rel):
            return False
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            self.seen[full] = None
            return want == ""
        key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        self.seen[full] = key
        if stat.S_ISDIR(st.st_mode):
            return want.startswith("d:") and folder_id(full) == want
        if not stat.S_ISREG(st.st_mode) or want == "" or want.startswith("d:"):
            return False
        if (mine := self.known.get(full)) is not None and mine[0] == key:
            return mine[1] == want
        if self.index is not None and self.index.clean(rel, key) == want:
            return True
        try:
            with open(full, "rb") as fh:
                data = fh.read()
        except OSError:
            return False
        return gitclean.blob_id(data) == want

    def _on_the_way(self, rel: str) -> bool:
        """No folder between the workspace and ``rel`` is a link (a link could lead out of the workspace)."""
        folder = rel.rpartition("/")[0]
        if not folder:
            return True
        ok = self._dirs.get(folder)
        if ok is None:
            ok = self._dirs[folder] = self._on_the_way(folder) and self._real_folder(folder)
        return ok

    def _real_folder(self, folder: str) -> bool:
        try:
            return stat.S_ISDIR(os.lstat(self.root + folder).st_mode)
        except OSError:
            return True  # missing: the file below it is missing too, which its own entry checks


def _relative(rel: str) -> bool:
    """A plain relative path below the workspace: no absolute path, no ``..``, nothing in ``.git``."""
    if not rel or rel[0] == "/" or "//" in rel or rel[-1] == "/" or "\0" in rel or "\\" in rel:
        return False
    if "/." not in "/" + rel:
        return True  # no part starts with a dot: neither ".", "..", nor ".git"
    parts = rel.split("/")
    return all(p not in (".", "..") for p in parts) and parts[0] != ".git"
