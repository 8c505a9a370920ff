"""An author's listing and the state of its files, kept between calls in one process while nothing changed.

An author's key holds what git lists (tracked, or new and not ignored)
outside the loop's folders, plus its feature's folder, each file by blob
id (see :mod:`devloop.steps.answer_cache`). Asking git and reading every
file's stat again costs tens of milliseconds at a thousand features, while
between two author calls of one run almost nothing changed. So the first
call lists and reads as before, and this module keeps the answer with
proof that it still holds: Linux's inotify watches on every folder git
walks and on every file kept, so any later change is an event read before
the answer is used again.

What an event changes:

- a file written, truncated, chmod'ed, linked, moved or deleted (an event
  on its folder or on its own inode, whatever name it was written through):
  its blob id is found again, from the file;
- a name created, deleted or moved in a folder: whether git lists it is
  settled for that name only. An atomic rewrite of a listed file keeps it
  listed (neither what git tracks nor what it ignores changed); a name gone
  stays listed when git's index holds it; a new one is listed when the
  index holds it or a running ``git check-ignore`` says it is not ignored
  (inside a nested repository, or anything odd: ``git ls-files`` is asked);
- a folder created, deleted, moved or chmod'ed, a ``.gitignore`` or
  ``.git`` changed, a watched folder lost: its part (the workspace outside
  the loop's folders, or one feature's folder) is listed again, and the
  running check-ignore, which read the rules once, is stopped;
- events lost (the kernel's queue overflowed): nothing kept is used again
  (a new start); a watch refused (no watches left, a linked
  ``.gitignore``): the process lists as before.

A feature's folder is listed without running git when it holds no nested
repository: the names the index holds there, and each other file found
there unless ``git check-ignore`` says git ignores it.

Besides the folders, what git reads to decide what it lists is checked by
stat on every call (a change lists everything again): the index, the
repository's config and ``info/exclude``, ``HEAD`` (conditional includes),
the global config and ignore files and every file an ``include`` or
``core.excludesFile`` names, and the ``.gitignore`` of each folder between
the repository's top and the workspace. A stat seen within
:data:`hashing.RACY_NS` of its change proves nothing: the next call lists
again.

A watch is always placed before what it guards is read (a folder before
git lists it or it is scanned, a file before its stat and bytes), so a
change is either seen by the read or reported after it. The first listing
of the workspace runs before its folders are watched (the watch needs to
know which folders git walks); it is kept only when every watched folder
and ``.gitignore`` is older than the listing by more than the racy window,
and is otherwise asked again once the watches are in place.

Not seen, as by git's own file-system monitor: a file changed through a
shared writable ``mmap`` (no event; a stat can miss it too), a file system
mounted over a folder of the workspace, and files changed by another
machine on a network file system: only local file systems are watched
(``/proc/self/mountinfo``). ``DEVLOOP_NO_WATCH=1`` turns this module off:
every call lists and stats as before. A process forked from one that
watches starts again (the events are its parent's).
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from devloop.provenance import gitclean, hashing
from devloop.provenance.hashing import Key
from devloop.runtime import gitsafe

# git is not sent into the features' archives: nothing below plans/<feature>/.history/ is part of a change or
# of what an author's answer rests on, and an archive gains a folder with each overwrite (a feature edited
# eighty times: 1,400 files each listing walked again). -x applies to untracked files only.
NO_ARCHIVES = ("-x", "/plans/*/.history/")
# what git tracks or would track below the paths that follow, each path taken as written
LS_FILES = ("--literal-pathspecs", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *NO_ARCHIVES, "--")

OFF = "DEVLOOP_NO_WATCH"

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED = 0x400, 0x800, 0x2000, 0x4000, 0x8000
IN_ONLYDIR, IN_DONT_FOLLOW, IN_ISDIR = 0x01000000, 0x02000000, 0x40000000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
_CONTENT = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF
_NAMES = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
DIR_MASK = _CONTENT | _NAMES | IN_ONLYDIR | IN_DONT_FOLLOW
FILE_MASK = _CONTENT | IN_DONT_FOLLOW
_GONE = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED
# File systems whose every change passes through this kernel (a network or host-shared one may change unseen).
LOCAL_FS = {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "bcachefs", "jfs", "reiserfs", "overlay"}
MAX_ASK = 200  # names asked of git in one call; more lists the part again
# What kept listings cost in this process: calls answered from what was kept, parts listed whole, names asked.
COUNTS = {"kept": 0, "listed": 0, "asked": 0}
SHARED = ""  # the part of the workspace outside the loop's folders (a feature's part is named by the feature)


class Lost(Exception):
    """Events were lost or a watch was refused: nothing kept can be trusted."""


def _enc(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


class Inotify:
    """One inotify instance, non-blocking, through libc."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes, self._add.restype = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32], ctypes.c_int
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes, self._rm.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.fd = fd

    def add(self, path: str, mask: int) -> int:
        wd = self._add(self.fd, _enc(path), mask)
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), path)
        return int(wd)

    def rm(self, wd: int) -> None:
        self._rm(self.fd, wd)

    def events(self) -> list[tuple[int, int, str]]:
        """Every event queued: (watch, mask, name)."""
        out = []
        head = struct.Struct("iIII")
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return out
            pos = 0
            while pos < len(data):
                wd, mask, _, size = head.unpack_from(data, pos)
                name = data[pos + 16 : pos + 16 + size].split(b"\0", 1)[0]
                out.append((wd, mask, name.decode("utf-8", "surrogateescape")))
                pos += 16 + size

    def close(self) -> None:
        os.close(self.fd)


class Ignores:
    """A running ``git check-ignore --stdin``: whether git ignores each untracked path, asked one at a time.

    It reads the ignore rules once, so it is stopped whenever they may have changed (any part listed
    again); each answer names the path it answers, and a missing or odd answer is "cannot tell".
    """

    def __init__(self, root: str) -> None:
        program = gitsafe.git_program(Path(root))
        if program is None:
            raise OSError("no git")
        args = ["check-ignore", "-z", "--stdin", "--non-matching", "--verbose", "--no-index"]
        self.proc = subprocess.Popen(
            gitsafe.argv(program, args),
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=gitsafe.environment({"GIT_LITERAL_PATHSPECS": "0"}),  # it refuses literal pathspecs
        )
        self.buf = b""

    def ignored(self, rel: str) -> bool | None:
        """True when git ignores ``rel`` (a pattern, or an ignored folder above it); None: cannot tell."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(_enc(rel) + b"\0")
            self.proc.stdin.flush()
            fd = self.proc.stdout.fileno()
            while self.buf.count(b"\0") < 4:
                if not select.select([fd], [], [], 10)[0]:
                    return None
                more = os.read(fd, 1 << 16)
                if not more:
                    return None
                self.buf += more
        except OSError:
            return None
        source, _, pattern, path, self.buf = self.buf.split(b"\0", 4)
        if path != _enc(rel) or bool(source) != bool(pattern):
            return None
        return bool(pattern) and not pattern.startswith(b"!")

    def close(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


def _key(path: str) -> Key | None:
    try:
        return hashing.key_of(os.stat(path))
    except OSError:
        return None


def find_sources(root: Path) -> Sources | None:
    """What git reads besides the folders to decide what it lists, each file with its stat key now (None: absent).

    The index, the repository's config, ``info/exclude`` and ``HEAD``, the global config and ignore files, every
    file an ``include`` or ``core.excludesFile`` names, and the ``.gitignore`` of each folder between the
    repository's top and ``root``. None: git could not tell.
    """
    done = gitsafe.run(
        root,
        ["rev-parse", "--show-toplevel", "--git-path", "index", "--git-path", "info/exclude", "--git-path",
         "config", "--git-path", "config.worktree", "--git-path", "HEAD"],
        timeout=30,
    )  # fmt: skip
    if done is None or done.returncode != 0:
        return None
    lines = done.stdout.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) < 6:
        return None
    top = lines[0]
    files = {os.path.join(str(root), p) for p in lines[1:6]}
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files |= {
        os.path.join(home, ".gitconfig"),
        os.path.join(xdg, "git", "config"),
        os.path.join(xdg, "git", "ignore"),
    }
    conf = gitsafe.run(root, ["config", "-z", "--list", "--show-origin"], timeout=30)
    if conf is None or conf.returncode != 0:
        return None
    parts = conf.stdout.decode("utf-8", "surrogateescape").split("\0")
    for origin, item in zip(parts[0::2], parts[1::2], strict=False):
        key, _, value = item.partition("\n")
        key = key.lower()
        here = origin[5:] if origin.startswith("file:") else ""
        if here:
            files |= {os.path.join(top, here), os.path.join(str(root), here)}
        if key == "core.excludesfile" or (key.startswith("include") and key.endswith(".path")):
            named = os.path.expanduser(value)
            near = [os.path.dirname(os.path.join(top, here)), top, str(root)] if here else [top, str(root)]
            files |= {os.path.join(d, named) for d in near}
    rel = os.path.relpath(str(root), top)
    if rel != ".":  # the workspace lies below the repository's top: the folders above it ignore too
        up = top
        for name in rel.split(os.sep):
            files.add(os.path.join(up, ".gitignore"))
            up = os.path.join(up, name)
    found = Sources((p, _key(p)) for p in sorted(files))
    found.index = os.path.join(str(root), lines[1])
    return found


class Sources(list):  # type: ignore[type-arg]
    """:func:`find_sources`' answer, which also names git's index among them (a commit moves only that one)."""

    index: str | None = None


def ignored(root: Path, folders: list[str]) -> set[str] | None:
    """Which of ``folders`` (relative to ``root``) git ignores; None when git cannot tell."""
    if not folders:
        return set()
    if any(f.startswith(":") for f in folders):
        return None  # check-ignore reads pathspec magic there, and refuses literal pathspecs
    done = gitsafe.run(
        root,
        ["check-ignore", "-z", "--stdin"],
        stdin=b"".join(_enc(f) + b"\0" for f in folders),
        env={"GIT_LITERAL_PATHSPECS": "0"},
    )
    if done is None or done.returncode not in (0, 1):
        return None
    return {p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p}


class Tree:
    """What this process keeps of one workspace: listings, watches and each file's blob id."""

    def __init__(self, root: Path, skip: set[str], own: str) -> None:
        self.root, self.base = str(root), f"{root}/"
        self.skip, self.own = skip, own  # top-level names outside every part; the folder of features' folders
        self.pid = os.getpid()
        self.ino = Inotify()
        self.dirs: dict[int, str] = {}  # watch -> folder (relative; "" is the root)
        self.dir_wd: dict[str, int] = {}
        self.files: dict[int, set[str]] = {}  # a file's watch -> its paths
        self.shared: set[str] | None = None
        self.features: dict[str, set[str]] = {}
        self.recheck: set[str] = set()  # names created, deleted or moved: is each still listed?
        self.ignored: set[str] = set()  # names git was asked about and does not list (while no rule changed)
        self.nested: set[str] = set()  # folders holding a .git of their own: git lists them, not what they hold
        self.asker: Ignores | None = None
        self.blobs: dict[str, tuple[str | None, int, str]] = {}  # path -> (blob id, its folder's watch, folder)
        self.sources: list[tuple[str, Key | None]] = []
        self.sources_read = 0
        self.order: tuple[frozenset[str], list[str]] = (frozenset(), [])
        self.by_feature: tuple[Any, dict[str, set[str]] | None] = (None, None)  # index -> names per feature

    # -- events ------------------------------------------------------------------------------
    def drain(self) -> None:
        if os.getpid() != self.pid:
            raise Lost("forked")
        for wd, mask, name in self.ino.events():
            if mask & IN_Q_OVERFLOW:
                raise Lost("overflow")
            folder = self.dirs.get(wd)
            if folder is not None:
                if not name:  # the folder itself
                    self._lose(folder)
                    if mask & _GONE:
                        self._forget_below(folder)
                    continue
                rel = f"{folder}/{name}" if folder else name
                if mask & IN_ISDIR:  # a folder came, went or changed: nothing kept below it is trusted
                    self._lose(rel)
                    if rel in self.dir_wd:  # a folder below a watched one is watched only if that one is
                        self._forget_below(rel)
                elif name in (".gitignore", ".git"):  # rules changed, or a nested repository came or went
                    self._lose(rel)
                elif mask & _NAMES:
                    self.recheck.add(rel)
                self.blobs.pop(rel, None)
            paths = self.files.get(wd)
            if paths is not None:
                for rel in paths:
                    self.blobs.pop(rel, None)
                    if rel.rpartition("/")[2] == ".gitignore":
                        self._lose(rel)
                if mask & IN_IGNORED:
                    del self.files[wd]

    def _forget_below(self, rel: str) -> None:
        """Stop watching the folder ``rel`` and every folder below it: a file kept there is read again.

        Moving a folder tells only the folder and its parent, not the folders below it."""
        below = rel + "/" if rel else ""
        for folder, wd in list(self.dir_wd.items()):
            if folder == rel or folder.startswith(below):
                del self.dir_wd[folder]
                self.dirs.pop(wd, None)
                self.ino.rm(wd)

    def _part(self, rel: str) -> str | None:
        """SHARED, a feature's name, or None (a loop folder, or the folder of features' folders)."""
        top, _, rest = rel.partition("/")
        if top == self.own:
            feature = rest.partition("/")[0]
            return feature if feature and feature != ".gitignore" else None
        return None if top in self.skip else SHARED

    def _lose(self, rel: str) -> None:
        """A folder or ignore file changed at ``rel``: its part is listed again."""
        self._rules_changed()
        if rel in ("", ".gitignore", self.own, f"{self.own}/.gitignore"):
            self.features.clear()
            if rel in ("", ".gitignore"):
                self.shared = None
            return
        part = self._part(rel)
        if part == SHARED:
            self.shared = None
        elif part is not None:
            self.features.pop(part, None)

    def _rules_changed(self) -> None:
        """What git ignores may have changed: forget what it said."""
        self.ignored.clear()
        if self.asker is not None:
            self.asker.close()
            self.asker = None

    # -- what git reads besides the folders --------------------------------------------------
    def _find_sources(self) -> bool:
        found = find_sources(Path(self.root))
        if found is None:
            return False
        self.sources = found
        return True

    def _sources_hold(self) -> bool:
        read = self.sources_read
        for path, key in self.sources:
            now = _key(path)
            if now != key or (now is not None and not hashing.settled(now, read)):
                return False
        return True

    # -- listings --------------------------------------------------------------------------
    def _git_list(self, paths: list[str]) -> set[str] | None:
        done = gitsafe.run(
            Path(self.root),
            [*LS_FILES, *paths],
        )
        if done is None or done.returncode != 0:
            return None
        return {p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p}

    def _watch_dir(self, rel: str) -> None:
        """Watch a folder (events on its names and their contents); raises OSError when it cannot."""
        wd = self.ino.add(self.base + rel if rel else self.root, DIR_MASK)
        old = self.dir_wd.get(rel)
        if old is not None and old != wd:
            self.dirs.pop(old, None)
        self.dirs[wd], self.dir_wd[rel] = rel, wd

    def _scan(self, rel: str, fresh_after: int | None, files: list[str] | None = None) -> tuple[list[str], bool]:
        """Watch a folder, then read its subfolders; whether it (or its .gitignore) changed after ``fresh_after``.

        With ``files``, the paths of its files and links are added to it (anything else: None is added)."""
        try:
            self._watch_dir(rel)
        except OSError as exc:
            full = self.base + rel if rel else self.root
            if os.path.isdir(full) and not os.path.islink(full):
                raise Lost(f"cannot watch {rel or '.'}: {exc}") from exc  # a folder no event would tell about
            return [], True  # gone meanwhile: its parent's watch tells when it comes back; ask git again
        full = self.base + rel if rel else self.root
        fresh = False
        subs = []
        try:
            with os.scandir(full) as entries:
                for e in entries:
                    if e.name == ".git":
                        if rel:
                            self.nested.add(rel)
                        continue
                    if e.is_dir(follow_symlinks=False):
                        subs.append(f"{rel}/{e.name}" if rel else e.name)
                        continue
                    if files is not None:
                        files.append(f"{rel}/{e.name}" if e.is_file(follow_symlinks=False) or e.is_symlink() else None)
                    if e.name == ".gitignore":
                        self._watch_rules(f"{rel}/{e.name}" if rel else e.name, e.is_symlink())
                    if e.name == ".gitignore" and fresh_after is not None:
                        k = _key(e.path)
                        fresh = fresh or k is None or hashing.newest(k) >= fresh_after
            if fresh_after is not None:
                k = _key(full)
                fresh = fresh or k is None or hashing.newest(k) >= fresh_after
        except OSError:
            return [], True
        return subs, fresh

    def _watch_rules(self, rel: str, linked: bool) -> None:
        """Watch an ignore file's own inode: written through another name (a hard link), it still tells."""
        if linked:
            raise Lost("a linked .gitignore")  # its target could change with no event here
        try:
            wd = self.ino.add(self.base + rel, FILE_MASK)
        except OSError as exc:
            if os.path.lexists(self.base + rel):
                raise Lost(f"cannot watch {rel}: {exc}") from exc
            return  # gone meanwhile: its folder's watch told
        self.files.setdefault(wd, set()).add(rel)

    def _list_shared(self) -> set[str] | None:
        """Everything git lists outside the loop's folders, every folder it walks watched; None: not kept."""
        started = time.time_ns()
        self._scan("", None)
        if "" not in self.dir_wd:
            return None
        tops = sorted(e.name for e in os.scandir(self.root) if e.name not in self.skip and e.name != self.own)
        if len(tops) > 500:
            return None
        listed = self._git_list(tops)
        if listed is None:
            return None
        walked = set()
        for p in listed:
            up = _parent(p.rstrip("/"))
            while up and up not in walked:
                walked.add(up)
                up = _parent(up)
        todo = [t for t in tops if os.path.isdir(self.base + t) and not os.path.islink(self.base + t)]
        todo_known = [t for t in todo if t in walked]
        dark = [t for t in todo if t not in walked]
        bar = started - hashing.RACY_NS
        fresh = self._fresh_root(bar)
        while todo_known or dark:
            if dark:
                skipped = ignored(Path(self.root), dark)
                if skipped is None:
                    return None
                todo_known += [d for d in dark if d not in skipped]
                dark = []
            next_round = []
            for rel in todo_known:
                subs, changed = self._scan(rel, bar)
                fresh = fresh or changed
                for s in subs:
                    (next_round if s in walked else dark).append(s)
            todo_known = next_round
        if fresh:  # a folder changed around the listing: ask git again, now that every folder is watched
            listed = self._git_list(tops)
        return listed

    def _fresh_root(self, bar: int) -> bool:
        k = _key(self.root)
        g = _key(self.base + ".gitignore")
        return k is None or hashing.newest(k) >= bar or (g is not None and hashing.newest(g) >= bar)

    def _list_feature(self, feature: str) -> set[str] | None:
        """Git's listing of the feature's folder, after every folder in it is watched."""
        own = self.base + self.own
        if os.path.islink(own):
            return None  # git would be asked beyond a link: not watched
        if os.path.isdir(own):
            if self.own not in self.dir_wd:  # its names are not read: features' folders are listed one by one
                try:
                    self._watch_dir(self.own)
                except OSError as exc:
                    raise Lost(f"cannot watch {self.own}: {exc}") from exc
            rules = f"{self.own}/.gitignore"
            if os.path.lexists(self.base + rules):
                self._watch_rules(rules, os.path.islink(self.base + rules))
        folder = f"{self.own}/{feature}"
        todo = [folder] if os.path.isdir(self.base + folder) and not os.path.islink(self.base + folder) else []
        files: list[str] = []
        if os.path.islink(self.base + folder) or os.path.isfile(self.base + folder):
            files.append(folder)
        nested = False
        while todo:
            rel = todo.pop()
            subs, _ = self._scan(rel, None, files)
            nested = nested or rel in self.nested
            todo += subs
        if not nested and None not in files:
            mine = self._from_index(feature, files)
            if mine is not None:
                return mine
        return self._git_list([folder])

    def _from_index(self, feature: str, files: list[str]) -> set[str] | None:
        """What ``git ls-files`` lists of the feature's folder, without running it: the names git's index holds
        there, and each other file found in it unless git ignores it. None: only git can tell."""
        index = gitclean.current(Path(self.root))
        if index is None:
            return None
        if self.by_feature[0] is not index:
            names = index.offsets if isinstance(index, gitclean.RawIndex) else index.entries
            head = _enc(self.own + "/")
            grouped: dict[str, set[str]] = {}
            for name in names:
                if name.endswith(b"/"):
                    self.by_feature = (index, None)  # a sparse index holds folders: git expands them
                    return None
                if name.startswith(head):
                    text = name.decode("utf-8", "surrogateescape")
                    grouped.setdefault(text.split("/", 2)[1], set()).add(text)
            self.by_feature = (index, grouped)
        grouped_now = self.by_feature[1]
        if grouped_now is None:
            return None
        mine = set(grouped_now.get(feature, ()))
        for rel in files:
            if rel in mine:
                continue
            verdict = self._ignored_now(rel)
            if verdict is None:
                return None
            if not verdict:
                mine.add(rel)
        return mine

    def _kept(self, rel: str) -> set[str] | None:
        part = self._part(rel)
        return self.shared if part == SHARED else self.features.get(part) if part is not None else None

    def _settle(self) -> bool:
        """Bring the kept listings up to date with the names created, deleted or moved since the last call.

        A name listed and still a file or link stays listed, a name not listed and still absent stays out
        (neither what git tracks nor what it ignores changed, or everything was listed again). A name gone
        stays listed when git's index tracks it (but for a top-level one: git is asked about the top-level
        names there are); a new one is listed when git tracks it or does not ignore it (asked of a running
        ``git check-ignore``). Anything else is asked of ``git ls-files``. False: git could not tell.
        """
        asks: list[str] = []
        for rel in self.recheck:
            kept = self._kept(rel)
            if kept is None:
                continue
            try:
                mode = os.lstat(self.base + rel).st_mode
                there: bool | None = stat.S_ISREG(mode) or stat.S_ISLNK(mode) or None
            except OSError:
                there = False
            listed = rel in kept
            if there and not listed and rel not in self.ignored:
                tracked = self._tracked(rel)
                verdict = None if tracked is None else False if tracked else self._ignored_now(rel)
                if verdict is None:
                    asks.append(rel)
                elif verdict:
                    self.ignored.add(rel)
                else:
                    kept.add(rel)
            elif there is False and listed:
                # git is asked about each top-level name there is: a top-level one gone is not listed
                tracked = self._tracked(rel) if "/" in rel else False
                if tracked is None:
                    asks.append(rel)
                elif not tracked:
                    kept.discard(rel)
            elif there is None:
                asks.append(rel)
        self.recheck.clear()
        if not asks:
            return True
        if len(asks) > MAX_ASK:
            return False
        COUNTS["asked"] += 1
        got = self._git_list(asks)
        if got is None:
            return False
        for rel in asks:
            kept = self._kept(rel)
            if kept is not None:
                kept.discard(rel)
        self.ignored |= {rel for rel in asks if rel not in got}
        for rel in got:
            kept = self._kept(rel)
            if kept is not None:
                kept.add(rel)
        return True

    def _ignored_now(self, rel: str) -> bool | None:
        """Whether git ignores the untracked ``rel`` now; None when only ``git ls-files`` can tell."""
        if rel.startswith(":"):
            return None  # check-ignore would read pathspec magic
        up = _parent(rel)
        while up:
            if up in self.nested:
                return None  # git lists the nested repository, never the files in it
            up = _parent(up)
        if self.asker is None:
            try:
                self.asker = Ignores(self.root)
            except OSError:
                return None
        verdict = self.asker.ignored(rel)
        if verdict is None:
            self._rules_changed()
        return verdict

    def _tracked(self, rel: str) -> bool | None:
        """Whether git's index holds ``rel``; None when it cannot be read, or holds folders (a sparse index)."""
        index = gitclean.current(Path(self.root))
        if index is None:
            return None
        names = index.offsets if isinstance(index, gitclean.RawIndex) else index.entries
        if _enc(rel) in names:
            return True
        up = _parent(rel)
        while up:
            if _enc(up + "/") in names:
                return None
            up = _parent(up)
        return False

    def author(self, feature: str) -> set[str] | None:
        """The author listing of ``feature`` (see :func:`devloop.steps.change.listing_for_author`); None: not kept."""
        self.drain()
        if not self.sources or not self._sources_hold():
            self.shared = None
            self.features.clear()
            self.recheck.clear()
            self._rules_changed()
            read = time.time_ns()
            if not self._find_sources():
                return None
            self.sources_read = read
        if not self._settle():
            self.shared = None
            self.features.clear()
        kept = True
        if self.shared is None:
            kept = False
            COUNTS["listed"] += 1
            self.shared = self._list_shared()
            if self.shared is None:
                return None
        mine = self.features.get(feature)
        if mine is None:
            kept = False
            COUNTS["listed"] += 1
            mine = self._list_feature(feature)
            if mine is None:
                return None
            self.features[feature] = mine
        COUNTS["kept"] += kept
        return self.shared | mine

    # -- files ------------------------------------------------------------------------------
    def blob_ids(self, paths: list[str] | set[str], reader: Any) -> dict[str, str]:
        """Like :func:`devloop.provenance.cache.workstate.blob_ids`: a kept id for each file no event touched."""
        self.drain()
        wanted = frozenset(paths)
        if wanted == self.order[0]:
            order = self.order[1]
        else:
            order = sorted(wanted)
            self.order = (wanted, order)
        blobs, dir_wd = self.blobs, self.dir_wd
        out: dict[str, str] = {}
        index: list[Any] = []
        for rel in order:
            kept = blobs.get(rel)
            if kept is None or dir_wd.get(kept[2]) != kept[1]:
                kept = self._read(rel, reader, index)
            if kept[0] is not None:
                out[rel] = kept[0]
        return out

    def _read(self, rel: str, reader: Any, index: list[Any]) -> tuple[str | None, int, str]:
        """A file's blob id, its file watch placed first; kept only when its folder is watched."""
        folder = _parent(rel)
        dwd = self.dir_wd.get(folder, -1)
        full = self.base + rel
        wd = None
        keep = dwd >= 0 and not rel.endswith("/")
        if keep:
            try:
                wd = self.ino.add(full, FILE_MASK)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.ENOMEM):
                    raise Lost("no watch left") from exc
                keep = exc.errno in (errno.ENOENT, errno.ENOTDIR)  # absent: its folder tells when it comes
        if not index:
            index.append(gitclean.current(Path(self.root)))
        blob = reader(full, rel, index[0])
        got = (blob, dwd, folder)
        if keep:
            self.blobs[rel] = got
            if wd is not None:
                self.files.setdefault(wd, set()).add(rel)
        return got

    def close(self) -> None:
        self._rules_changed()
        try:
            self.ino.close()
        except OSError:
            pass


_TREES: dict[str, Tree] = {}  # by workspace root, the last used last
MAX_TREES = 4  # workspaces kept at once: each holds an inotify instance and may hold a running git
_LOCK = threading.RLock()
_REFUSED: set[str] = set()  # roots this process does not watch
# Roots asked about once in this process. The first author call is answered as before, without watches: a
# run with one author call (an edit's implementer) would pay for placing thousands of watches and gain
# nothing. Watching starts with the second call, which a run with many author calls soon repays.
_ASKED: set[str] = set()


def _local(root: str) -> bool:
    """True when ``root`` lies on a local file system (every change passes through this kernel)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return False
    best, kind, below = "", "", []
    for line in lines:
        fields = line.split(" ")
        if "-" not in fields:
            continue
        point = fields[4].encode().decode("unicode_escape") if "\\" in fields[4] else fields[4]
        dash = fields.index("-")
        if (root == point or root.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[dash + 1]
        elif point.startswith(root.rstrip("/") + "/"):
            below.append(fields[dash + 1])  # a file system mounted inside the workspace
    return kind in LOCAL_FS and all(k in LOCAL_FS for k in below)


def author_listing(root: Path, feature: str, skip: set[str], own: str) -> set[str] | None:
    """The kept listing for ``feature``, made or brought up to date; None when this process keeps none."""
    if not sys.platform.startswith("linux") or os.environ.get(OFF, "") not in ("", "0"):
        return None
    key = str(root)
    with _LOCK:
        tree = _TREES.get(key)
        if tree is None:
            if key in _REFUSED:
                return None
            if key not in _ASKED:
                _ASKED.add(key)
                return None
            if not _local(os.path.realpath(key)):
                _REFUSED.add(key)
                return None
            while len(_TREES) >= MAX_TREES:
                drop(Path(next(iter(_TREES))))
            try:
                tree = _TREES[key] = Tree(root, skip, own)
            except (OSError, AttributeError):
                _REFUSED.add(key)
                return None
        else:
            _TREES[key] = _TREES.pop(key)  # the last used last
        try:
            return tree.author(feature)
        except Lost as exc:
            if str(exc) != "overflow":
                _REFUSED.add(key)  # watches refused: this process lists as before
        except (OSError, ValueError, subprocess.SubprocessError):
            _REFUSED.add(key)
        drop(root)
        return None


def blob_ids(root: Path, paths: list[str] | set[str], reader: Any) -> dict[str, str] | None:
    """Blob ids from the kept state of ``root``; None when this process keeps none (the caller reads)."""
    if os.environ.get(OFF, "") not in ("", "0"):
        return None
    with _LOCK:
        tree = _TREES.get(str(root))
        if tree is None:
            return None
        try:
            return tree.blob_ids(paths, reader)
        except Lost as exc:
            if str(exc) != "overflow":
                _REFUSED.add(str(root))  # no watch left: this process reads as before
        except (OSError, ValueError):
            _REFUSED.add(str(root))
        drop(root)
        return None


def drop(root: Path) -> None:
    """Forget what is kept of ``root`` (the next call starts again)."""
    with _LOCK:
        tree = _TREES.pop(str(root), None)
        if tree is not None and tree.pid == os.getpid():
            tree.close()
