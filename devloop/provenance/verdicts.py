"""A per-machine memo of settled answers, so that an up-to-date ``doit`` reads no lock and hashes no file.

An answer (a step found up to date or drifted, with its reasons; a feature's
doit targets; a status row) is kept in ``.devloop/verdicts.json`` with the
files and folders it rests on, each with its stat key: size, mtime_ns,
ctime_ns, inode. Content hashes stay the truth; the memo only proves that
nothing was touched since they were taken.

A memo answer is trusted exactly when all of these hold (each has a test in
tests/test_verdicts.py or tests/test_coarse_clock.py):

1. **Same stamp.** The memo was written under this process's stamp
   (:func:`stamp_of`): the memo format, devloop's version, every module and
   template of devloop's package with its full stat key
   (:func:`~devloop.provenance.hashing.package_stamp`), every file and folder
   of the template folders, and devloop.yaml's key. Any other stamp is an
   empty memo.
2. **A settled stamp.** Nothing in the stamp changed, by mtime or ctime,
   within ``RACY_NS`` before this process started; otherwise this process
   keeps nothing (it may still read answers kept earlier).
3. **Settled when kept.** Every file an answer rests on had its newest
   timestamp (the later of mtime and ctime) older than ``RACY_NS`` before
   this process started. A file rewritten within one timestamp tick keeps
   its size, mtime and inode, so a stat that new proves nothing (git's
   "racily clean" entries); ``cp -p``, ``touch -r``, ``tar x`` and ``rsync
   -t`` set an old mtime, but the ctime of every change is the kernel's now.
   With one-second timestamps (ext2/3 with small inodes, FAT, HFS+, several
   network file systems) the ctime rule is what sees a second same-size
   put-back in the same second.
4. **Unchanged while read.** Every file's key when the answer was kept is
   the key this process saw just before it read the file (or found it
   missing): a file rewritten and back-dated while devloop read it is not
   kept.
5. **A missing file rests on its folder** (recursively up to the
   workspace), whose mtime and ctime change when the file appears.
6. **Same keys now.** When read back, every file and folder has exactly the
   key it was kept with.
7. **Stats are taken afresh while a step may write.** Within a run, a stat is
   reused from memory only while no step runs in this process (after a
   step, only other features' plan folders, which no author may write).
8. **Only settled verdicts are kept**: up to date or drifted, never
   running, interrupted, waiting or stale (the engine's choice).

The memo is a cache: deleting it costs one slow no-op; several processes may
write it (the last one wins, and every answer it holds is checked anyway).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from devloop import __version__
from devloop.provenance.hashing import OBSERVED, RACY_NS, key_of, key_text, package_stamp

FILE = "verdicts.json"  # the steps' answers and doit targets: what an up-to-date doit reads
VIEWS = "views.json"  # whole status rows: what devloop status reads (kept apart: doit never loads them)
FORMAT = 1
STARTED_NS = time.time_ns()  # before this process read any file
StatKey = str | None  # "size:mtime_ns:ctime_ns:inode" (one string: a thousand features keep ten thousand)


def stat_text(path: str) -> StatKey:
    """The file's stat key now, as text (None when missing); unlike ``hashing.stat_key`` it notes nothing."""
    try:
        return key_text(key_of(os.stat(path)))
    except (FileNotFoundError, NotADirectoryError):
        return None


def _newest(key: str) -> int:
    """The later of the mtime and ctime of a key ``size:mtime_ns:ctime_ns:inode``."""
    parts = key.split(":")
    return max(int(parts[1]), int(parts[2]))


def stamp_of(root: Path, templates: list[Path]) -> tuple[str, bool]:
    """What every answer rests on, and whether all of it is settled.

    devloop's own modules (an upgrade or an edit of devloop forgets every
    answer), devloop.yaml, and every template folder with its files (the
    packaged ones and a workspace's overrides): cheaper to check once per
    run than with every answer.
    """

    limit = STARTED_NS - RACY_NS
    code, latest = package_stamp()
    settled = latest < limit
    parts = [str(FORMAT), __version__, code]
    for top in templates:
        parts.append(f"{top}:{stat_text(str(top))}")
        for folder, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted([*dirs, *files]):
                key = stat_text(os.path.join(folder, name))
                parts.append(f"{folder}/{name}:{key}")
                settled = settled and (key is None or _newest(key) < limit)
    config = stat_text(str(root / "devloop.yaml"))
    parts.append(f"devloop.yaml:{config}")
    settled = settled and (config is None or _newest(config) < limit)
    return "|".join(parts), settled


class Verdicts:
    """The memo of one workspace, loaded once per process and written back only when it changed."""

    def __init__(self, root: Path, state_dir: Path, stamp: tuple[str, bool], name: str = FILE) -> None:
        self.root = f"{root}/"
        self.path = state_dir / name
        self.stamp, self.keeps = stamp  # nothing is kept while a file of the stamp is too new
        self.paths: list[str] = []  # dependency index -> path (relative to the root, or absolute)
        self.index: dict[str, int] = {}
        self.keys: list[StatKey] = []  # index -> the key every answer using it was taken with
        self.entries: dict[str, list[Any]] = {}  # id -> [answer, [dependency indices]]
        self.dirty = False
        self._now: dict[int, StatKey] = {}  # stats taken by this process, while nothing has run
        self._held: dict[str, set[int]] = {}  # the same, by owner: a feature (its plans/ folder) or "" (the rest)
        self._unheld: list[int] = []  # taken since the last settle, not yet sorted by owner
        self._same: set[int] = set()  # the files in _now whose key is the one kept: an answer on these alone holds
        self.live = False  # set once a step may be writing files: every stat is taken afresh
        self._users: dict[int, set[str]] | None = None
        self._deferred: list[tuple[str, Any, list[str], dict[str, Any]]] | None = None
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("stamp") != self.stamp:
                return
            paths, keys, entries = data["paths"], data["keys"], data["entries"]
            if not (isinstance(paths, list) and isinstance(keys, list) and isinstance(entries, dict)):
                return
            if len(paths) != len(keys):
                return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return
        self.paths, self.keys, self.entries = paths, keys, entries
        self.index = {}  # built when something is recorded: a no-op never needs it

    # -- reading ----------------------------------------------------------
    def _current(self, i: int) -> StatKey:
        key = self._now.get(i, False)
        if key is False or self.live:
            path = self.paths[i]
            key = stat_text(path if path.startswith("/") else self.root + path)
            if not self.live:
                self._hold(i, key)
        return key  # type: ignore[return-value]

    def changed(self) -> set[int]:
        """Every file the memo rests on whose key differs now, each stat'ed once (for a sweep of all answers).

        The no-op's one pass over every file (13,000 at 1000 features), so it is
        :meth:`_current` and :meth:`_hold` inlined: relative paths are stat'ed
        against an open handle on the root (the kernel walks no prefix), and the
        keys are built as :func:`~devloop.provenance.hashing.key_text` builds them.
        """
        keys, now, live = self.keys, self._now, self.live
        out: set[int] = set()
        taken: list[int] = []
        stat = os.stat
        try:
            root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return {i for i in range(len(self.paths)) if self._current(i) != keys[i]}
        try:
            for i, path in enumerate(self.paths):
                key = False if live else now.get(i, False)
                if key is False:
                    try:
                        st = stat(path, dir_fd=root_fd)  # an absolute path ignores dir_fd
                        key = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
                    except (FileNotFoundError, NotADirectoryError):
                        key = None
                    if not live:
                        now[i] = key
                        taken.append(i)
                if key != keys[i]:
                    out.add(i)
        finally:
            os.close(root_fd)
        if taken:  # what _hold does for each: held until the next settle, and kept as unchanged unless it changed
            self._unheld.extend(taken)
            self._same.update(taken)
            self._same.difference_update(out)
        return out

    def vouches(self, answer_id: str, changed: set[int]) -> bool:
        """Whether the memo holds ``answer_id`` and none of its files is in ``changed`` (see :meth:`changed`)."""
        entry = self.entries.get(answer_id)
        try:
            _, deps = entry  # type: ignore[misc]
            return bool(deps) and min(deps) >= 0 and max(deps) < len(self.keys) and changed.isdisjoint(deps)
        except (ValueError, TypeError):
            return False

    def get(self, answer_id: str) -> Any:
        """The kept answer, or None when there is none or a file it rests on changed since."""
        entry = self.entries.get(answer_id)
        if entry is None:
            return None
        try:
            answer, deps = entry
            if not self.live and self._same.issuperset(deps):
                return answer  # every file already seen unchanged by this process, while nothing ran
            for i in deps:
                if self._current(i) != self.keys[i]:
                    return None
        except (ValueError, TypeError, IndexError):
            return None
        return answer

    # -- recording --------------------------------------------------------
    def record(self, answer_id: str, answer: Any, deps: list[str]) -> bool:
        """Keep ``answer`` resting on ``deps`` (paths relative to the root, or absolute), if they are settled.

        Returns whether it was kept (while deferred: whether it may be).
        Never call it with an answer computed before the files were read:
        the keys are taken now, or at :meth:`flush` when deferred.
        """
        return self.record_each({answer_id: answer}, deps)

    def record_each(self, answers: dict[str, Any], deps: list[str]) -> bool:
        """:meth:`record` for answers resting on the same files (a feature's steps, from its proof)."""
        if not self.keeps:
            return False
        if self._deferred is not None:
            seen = {d: OBSERVED.get(d if d.startswith("/") else self.root + d, False) for d in deps}
            self._deferred.extend((answer_id, answer, deps, seen) for answer_id, answer in answers.items())
            return True
        return all([self._record(answer_id, answer, deps, stat_text, None) for answer_id, answer in answers.items()])

    def defer(self) -> None:
        """Queue the answers recorded from now on; :meth:`flush` keeps them, taking each file's stat once."""
        if self._deferred is None:
            self._deferred = []

    def flush(self) -> None:
        """Keep the queued answers: a file shared by many answers (a feature's lock, its plan) is stat'ed once."""
        queued, self._deferred = self._deferred or [], None
        stats: dict[str, StatKey] = {}

        def stat_once(path: str) -> StatKey:
            key = stats.get(path, False)
            if key is False:
                key = stats[path] = stat_text(path)
            return key  # type: ignore[return-value]

        for answer_id, answer, deps, seen in queued:
            self._record(answer_id, answer, deps, stat_once, seen)

    def _record(
        self, answer_id: str, answer: Any, deps: list[str], stat: Any, seen_then: dict[str, Any] | None
    ) -> bool:
        limit = STARTED_NS - RACY_NS
        wanted: dict[str, StatKey] = {}
        todo = list(dict.fromkeys(deps))
        while todo:
            rel = todo.pop()
            if rel in wanted:
                continue
            full = rel if rel.startswith("/") else self.root + rel
            key = stat(full)
            # what this process saw when it read it (None: missing; False: not read), when the answer was given
            seen = OBSERVED.get(full, False) if seen_then is None else seen_then.get(rel, False)
            if seen is not False and key != key_text(seen):
                return False  # it changed while this process used it
            if key is None:
                parent = os.path.dirname(rel.rstrip("/"))
                if rel == "." or (rel.startswith("/") and parent == rel):
                    return False
                todo.append(parent if parent else ".")  # the folder that would hold it
            elif _newest(key) >= limit:
                return False  # too new for its stat to prove its content
            wanted[rel] = key
        if len(self.index) != len(self.paths):
            self.index = {p: i for i, p in enumerate(self.paths)}
        indices = []
        for rel, key in wanted.items():
            i = self.index.get(rel)
            if i is None:
                i = self.index[rel] = len(self.paths)
                self.paths.append(rel)
                self.keys.append(key)
            elif self.keys[i] != key:
                self._forget_users(i)
                self.keys[i] = key
                self._same.discard(i)  # until held again with the new key
            if not self.live:
                self._hold(i, key)
            indices.append(i)
        self.entries[answer_id] = [answer, sorted(indices)]
        if self._users is not None:
            for i in indices:
                self._users.setdefault(i, set()).add(answer_id)
        self.dirty = True
        return True

    def settle(self, feature: str) -> None:
        """A step of ``feature`` ran in this thread and ended: stats may be kept in memory again.

        Those it may have changed are forgotten: everything but other
        features' plan folders, which no author may write (a write there is
        refused and put back, so what was read of them still holds).
        """
        for i in self._unheld:  # sorted by owner once, so that each step's end touches only what it drops
            path = self.paths[i]
            owner = path.split("/", 2)[1] if path.startswith("plans/") and path.count("/") >= 2 else ""
            self._held.setdefault(owner, set()).add(i)
        self._unheld = []
        for owner in ("", feature):
            for i in self._held.pop(owner, ()):
                self._now.pop(i, None)
                self._same.discard(i)
        self.live = False

    def _hold(self, i: int, key: StatKey) -> None:
        self._now[i] = key
        self._unheld.append(i)
        if key == self.keys[i]:
            self._same.add(i)
        else:
            self._same.discard(i)

    def _forget_users(self, i: int) -> None:
        """A file changed: every answer taken with its old key goes."""
        if self._users is None:
            self._users = {}
            for answer_id, (_, deps) in self.entries.items():
                for d in deps:
                    self._users.setdefault(d, set()).add(answer_id)
        for answer_id in self._users.pop(i, set()):
            self.entries.pop(answer_id, None)

    # -- writing ----------------------------------------------------------
    def save(self) -> None:
        """Write the memo back (compacted to the paths still used) when it changed; never fails the run."""
        if not self.dirty or not self.keeps:
            return

        used = sorted({i for _, deps in self.entries.values() for i in deps})
        renumber = {old: new for new, old in enumerate(used)}
        data = {
            "format": FORMAT,
            "stamp": self.stamp,
            "paths": [self.paths[i] for i in used],
            "keys": [self.keys[i] for i in used],
            "entries": {k: [a, [renumber[i] for i in deps]] for k, (a, deps) in self.entries.items()},
        }
        from devloop.runtime.atomic import atomic_write_text  # lazy: a no-op that keeps the memo never writes it

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(data, separators=(",", ":")), fsync=False)
            self.dirty = False
        except OSError:
            pass
