"""What devloop itself wrote in the workspace during a run, so that its writes are never taken for an agent's.

Where no operating-system sandbox runs, an agent's writes outside its reach
are found by comparing the workspace before and after its call (see
:mod:`devloop.confine.snapshot`). Other steps of the same run (``doit -n``
forks workers) write answers, locks, the ledger and caches meanwhile; each
such write is noted here, and a change that matches a note is devloop's.

The notes live in one append-only file under ``.devloop/``, which an
unconfined agent could write too: every line carries an HMAC under a key
that exists only in the memory of this run's processes (made when the
module is first imported, in the main process, before doit forks its
workers), so a line an agent adds never verifies.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_KEY = os.urandom(32)
_file: str | None = None  # the journal of the workspace whose lock this run holds
_root: str | None = None
NAME = "journal.log"
GONE = "-"
APPEND_KEPT = 64 * 1024
_ids = itertools.count()
_unnoted = 0  # > 0 while devloop writes before any agent of this run can run (see unnoted)


def start(root: Path, state_dir: Path, fresh: bool) -> None:
    """Write this run's notes (the lock holder starts them ``fresh``: earlier runs' notes go; workers join)."""
    global _file, _root
    path = state_dir / NAME
    with contextlib.suppress(OSError):
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if fresh else 0), 0o600)
        os.close(fd)
        _file, _root = str(path), os.path.realpath(root)


def stop() -> None:
    global _file, _root, _fd
    _file = _root = None
    if _fd is not None:
        with contextlib.suppress(OSError):
            os.close(_fd[1])
        _fd = None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rel(path: Path | str) -> str | None:
    if _file is None or _root is None:
        return None
    real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    if not real.startswith(_root + "/"):
        return None
    return real[len(_root) + 1 :]


def _line(kind: str, rel: str, payload: str, wid: str) -> bytes:
    body = f"{kind}\t{rel}\t{payload}\t{wid}"
    mac = hmac.new(_KEY, body.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
    return f"{mac}\t{body}\n".encode("utf-8", "surrogateescape")


_fd: tuple[str, int] | None = None  # the journal kept open for appends: (its path, the descriptor)


def _append(data: bytes) -> None:
    """One O_APPEND write (whole, never interleaved with another's) to the journal, kept open between writes."""
    global _fd
    path = _file
    if path is None:
        return
    with contextlib.suppress(OSError):
        if _fd is None or _fd[0] != path:
            if _fd is not None:  # another workspace's journal, in the same process
                os.close(_fd[1])
                _fd = None
            _fd = (path, os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC))
        os.write(_fd[1], data)


@contextlib.contextmanager
def writing(path: Path | str, data: bytes | None, append: bool = False) -> Iterator[None]:
    """Around one write of devloop's: ``path`` gets ``data`` (appended, or None: removed).

    Noted before the body runs (whoever sees the change can already tell it
    is devloop's) and again once it is done (a watcher whose window began
    while the write was under way still counts it).
    """
    rel = _rel(path) if not _unnoted else None
    if rel is None or rel == ".devloop/" + NAME:
        yield
        return
    wid = f"{os.getpid()}-{next(_ids)}"
    if data is None:
        payload, kind = GONE, "w"
    elif append:  # small appends (ledger lines) carry their bytes: a put-back keeps them
        kept = base64.b64encode(data).decode("ascii") if len(data) <= APPEND_KEPT else ""
        payload, kind = f"{digest(data)}:{len(data)}:{kept}", "a"
    else:
        payload, kind = digest(data), "w"
    _append(_line(kind, rel, payload, wid))
    try:
        yield
    finally:
        _append(_line("d", "", "", wid))


@contextlib.contextmanager
def unnoted() -> Iterator[None]:
    """Writes that need no note: made before any agent of this run starts (features put back whole while
    the graph is built, in doit's main process, with the workspace lock held). Notes serve only the
    windows of agent calls, and a window that opens later reads the journal from its own mark on."""
    global _unnoted
    _unnoted += 1
    try:
        yield
    finally:
        _unnoted -= 1


def mark() -> int:
    """Where the journal ends now: the writes under way or begun after this mark are a window's."""
    if _file is None:
        return 0
    try:
        return os.stat(_file).st_size
    except OSError:
        return 0


@dataclass
class Notes:
    """devloop's verified writes since a mark: whole contents and appended lines, by path."""

    contents: dict[str, set[str]] = field(default_factory=dict)
    appends: dict[str, list[tuple[str, int, bytes | None]]] = field(default_factory=dict)

    def below(self, folder: str) -> bool:
        prefix = folder.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in (*self.contents, *self.appends))

    def appended_only(self, rel: str, tail: bytes) -> bool:
        """Whether ``tail`` is made of devloop's appends to ``rel`` alone, in any order."""
        chunks = self.appends.get(rel, [])
        pos = 0
        while pos < len(tail):
            for sha, n, _ in chunks:
                if digest(tail[pos : pos + n]) == sha:
                    pos += n
                    break
            else:
                return False
        return True

    def appended(self, rel: str) -> bytes | None:
        """Everything devloop appended to ``rel`` in the window, in order (None when a part was not kept)."""
        parts = [data for _, _, data in self.appends.get(rel, [])]
        return None if any(p is None for p in parts) else b"".join(p for p in parts if p is not None)


def since(offset: int) -> Notes:
    """devloop's writes begun after ``offset``, or begun before it and not done by then."""
    notes = Notes()
    begun: dict[str, tuple[int, str, str, str]] = {}
    done: dict[str, int] = {}
    for pos, (kind, rel, payload, wid) in _entries():
        if kind == "d":
            done[wid] = pos
        else:
            begun[wid] = (pos, kind, rel, payload)
    for wid, (pos, kind, rel, payload) in begun.items():
        if pos < offset and done.get(wid, offset) < offset:
            continue
        if kind == "w":
            notes.contents.setdefault(rel, set()).add(payload)
        else:
            sha, n, kept = [*payload.split(":", 2), "", ""][:3]
            notes.appends.setdefault(rel, []).append((sha, int(n or 0), base64.b64decode(kept) if kept else None))
    return notes


def _entries() -> Iterator[tuple[int, tuple[str, str, str, str]]]:
    """Every verified line of this run's journal, with the offset where it starts."""
    if _file is None:
        return
    try:
        with open(_file, "rb") as fh:
            data = fh.read()
    except OSError:
        return
    pos = 0
    for raw in data.splitlines(keepends=True):
        parts = raw.rstrip(b"\n").decode("utf-8", "surrogateescape").split("\t")
        if len(parts) == 5:
            mac, *fields = parts
            body = "\t".join(fields).encode("utf-8", "surrogateescape")
            if hmac.compare_digest(mac, hmac.new(_KEY, body, hashlib.sha256).hexdigest()):
                yield pos, (fields[0], fields[1], fields[2], fields[3])
        pos += len(raw)
