"""Where the answer cache keeps its objects: a folder (plain os calls) or any fsspec URL (gs://, s3://, memory://).

A store's root holds two kinds of object, each written once and never changed:

- ``v1/entries/<key[:2]>/<key>.json``: an entry, a small JSON document under its key;
- ``v1/blobs/<sha[:2]>/<sha>``: a blob, raw bytes named by their own sha256, checked on every read.

Names are 64 lowercase hex characters, checked before they become paths, so no key can point
outside the store. A store that cannot be reached is a miss, never a failed run: its first failure
raises :class:`StoreUnreachable`, and from then on the store answers every call that way at once
(``store.down`` says why), so a dead bucket costs a run one bounded wait, not one per step.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from devloop.runtime import journal

ENTRIES = "v1/entries"
BLOBS = "v1/blobs"
_NAME = re.compile(r"[0-9a-f]{64}")
_ENTRY_FILE = re.compile(r"([0-9a-f]{64})\.json")
_BLOB_FILE = re.compile(r"([0-9a-f]{64})")
# A transfer may take its store's timeout plus one second per this many bytes before the store counts as
# down: a slow link moving a large blob is not a dead one.
MIN_RATE = 1_000_000
# Tries per gs:// request (gcsfs makes 6, about 33 s against a closed port). A second try still rides out
# one dropped connection or 503; a store that fails twice is a miss for the rest of the run.
GCS_TRIES = 2
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP}  # link(2) where a filesystem has none
T = TypeVar("T")


class StoreUnreachable(Exception):
    """The store could not be reached (network, auth, missing bucket, timeout): the caller treats it as a miss."""


class HostileBlob(Exception):
    """A blob whose bytes do not hash to its name: refused; the message names the store and the blob."""


@dataclass(frozen=True)
class Item:
    """One object a store lists: its name (an entry's key, a blob's sha), size, and last change if known."""

    name: str
    size: int
    mtime: float | None  # seconds since the epoch; a local entry's is its last use (see touch_entry)


def checked(name: str) -> str:
    """``name`` if it is a sha256 hex digest, else ValueError: only such names ever become paths."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError(f"not a key or blob name (64 lowercase hex characters): {name!r:.80}")
    return name


def entry_path(key: str) -> str:
    key = checked(key)
    return f"{ENTRIES}/{key[:2]}/{key}.json"


def blob_path(sha: str) -> str:
    sha = checked(sha)
    return f"{BLOBS}/{sha[:2]}/{sha}"


class Store:
    """What the cache asks of a store; subclasses say how objects are read, created, listed and removed.

    ``down``: why the store was given up on (None while it answers). ``read_only``: why writes are
    refused (read-only folder or credentials) while reads go on.
    """

    url: str  # as configured, credentials removed: what messages show
    down: str | None = None
    read_only: str | None = None

    def read_entry(self, key: str) -> bytes | None:
        """The entry under ``key``, or None when there is none."""
        return self._get(entry_path(key), None)

    def write_entry(self, key: str, data: bytes) -> bool:
        """Create the entry; False when one was already there (it is kept: entries are never overwritten)."""
        return self._create(entry_path(key), data)

    def read_blob(self, sha: str, size: int | None = None) -> bytes | None:
        """The blob's bytes, or None; HostileBlob when they do not hash to ``sha``. ``size`` (if known)
        bounds the wait on a remote store without asking for it first."""
        data = self._get(blob_path(sha), size)
        if data is not None and (actual := hashlib.sha256(data).hexdigest()) != sha:
            raise HostileBlob(f"{self.url}: blob {sha} holds {len(data)} bytes whose sha256 is {actual}: refused")
        return data

    def write_blob(self, sha: str, data: bytes) -> bool:
        """Create the blob; ValueError when ``data`` does not hash to ``sha``; False when it was there."""
        path = blob_path(sha)
        if (actual := hashlib.sha256(data).hexdigest()) != sha:
            raise ValueError(f"blob {sha}: its bytes hash to {actual}: not written")
        return self._create(path, data)

    def has_blob(self, sha: str) -> bool:
        return self._exists(blob_path(sha))

    def entries(self) -> Iterator[Item]:
        return self._list(ENTRIES, _ENTRY_FILE)

    def blobs(self) -> Iterator[Item]:
        return self._list(BLOBS, _BLOB_FILE)

    def delete_entry(self, key: str) -> None:
        self._delete(entry_path(key))

    def delete_blob(self, sha: str) -> None:
        self._delete(blob_path(sha))

    def touch_entry(self, key: str) -> None:
        """Note that the entry was used (for trimming the least recently used); only a folder keeps it."""
        checked(key)

    # -- what a kind of store provides ---------------------------------------------------------------
    def _get(self, rel: str, size: int | None) -> bytes | None:
        raise NotImplementedError

    def _create(self, rel: str, data: bytes) -> bool:
        raise NotImplementedError

    def _exists(self, rel: str) -> bool:
        raise NotImplementedError

    def _list(self, top: str, pattern: re.Pattern[str]) -> Iterator[Item]:
        raise NotImplementedError

    def _delete(self, rel: str) -> None:
        raise NotImplementedError

    # -- giving up ----------------------------------------------------------------------------------
    def _check_up(self, writing: bool = False) -> None:
        if self.down is not None:
            raise StoreUnreachable(self.down)
        if writing and self.read_only is not None:
            raise StoreUnreachable(self.read_only)

    def _give_up(self, what: str, reason: str, refused: bool = False) -> StoreUnreachable:
        """Remember why the store failed and make the error to raise. A write ``refused`` for want of
        permission leaves reads alone: a team may share a store that only CI writes."""
        line = f"{self.url}: {what}: {reason}"
        if refused:
            self.read_only = line
        else:
            self.down = line
        return StoreUnreachable(line)


def _refused(exc: BaseException) -> bool:
    """A permission problem rather than an outage (gcsfs says "Forbidden" in a plain OSError on a 403)."""
    if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno == errno.EROFS):
        return True
    return isinstance(exc, OSError) and str(exc).startswith("Forbidden")


def _reason(err: BaseException, budget: float | None = None) -> str:
    """One line: the exception's type and the first line of its message."""
    if isinstance(err, TimeoutError) and budget is not None:
        return f"{type(err).__name__}: no answer within {budget:g} s"
    lines = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
    return text[:300]


# -- a folder -------------------------------------------------------------------------------------------
class FolderStore(Store):
    """A local or shared (NFS) folder. A lookup is one open(2); a write is a temp file beside the object,
    hard-linked to its name (link(2) fails if the name exists: create-only and atomic), then removed."""

    def __init__(self, root: str | os.PathLike[str], url: str | None = None, hard_links: bool = True) -> None:
        self.root = os.fspath(root)
        self.url = url or self.root
        self.hard_links = hard_links  # turned off on the first filesystem found without them

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def _get(self, rel: str, size: int | None) -> bytes | None:
        self._check_up()
        try:
            with open(self._path(rel), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._give_up("read", _reason(exc)) from exc

    def _create(self, rel: str, data: bytes) -> bool:
        self._check_up(writing=True)
        folder, name = os.path.split(self._path(rel))
        try:
            return self._publish(folder, name, data)
        except OSError as exc:
            raise self._give_up("write", _reason(exc), _refused(exc)) from exc

    def _publish(self, folder: str, name: str, data: bytes) -> bool:
        # Named like devloop's other temp files (runtime.atomic), so that a killed writer's leftover is
        # known as one: never listed here, ignored by workspace snapshots, swept by the lock holder.
        prefix = f".{name}.devloop-{os.getpid()}-"
        try:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
        try:
            os.fchmod(fd, 0o644)  # not mkstemp's 0600: a shared folder's other users read it too
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            final = os.path.join(folder, name)
            with journal.writing(final, data):
                return self._link(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _link(self, tmp: str, final: str) -> bool:
        if self.hard_links:
            try:
                os.link(tmp, final)
                return True
            except FileExistsError:
                return False
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                self.hard_links = False
        # No hard links on this filesystem (some FUSE and SMB mounts): check, then rename. Two writers of
        # one key may both pass the check and the later rename wins; both wrote a whole answer identical
        # in meaning, which the entry format tolerates. Readers still never see half an object.
        if os.path.lexists(final):
            return False
        os.rename(tmp, final)
        return True

    def _exists(self, rel: str) -> bool:
        self._check_up()
        try:
            os.stat(self._path(rel))
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._give_up("stat", _reason(exc)) from exc

    def _list(self, top: str, pattern: re.Pattern[str]) -> Iterator[Item]:
        self._check_up()
        try:
            yield from _scan(self._path(top), pattern)
        except OSError as exc:
            raise self._give_up("list", _reason(exc)) from exc

    def _delete(self, rel: str) -> None:
        self._check_up(writing=True)
        path = self._path(rel)
        try:
            with journal.writing(path, None):
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._give_up("delete", _reason(exc), _refused(exc)) from exc

    def touch_entry(self, key: str) -> None:
        """Set the entry's mtime to now: trimming removes the least recently used first. Best effort: a
        shared folder this user may only read keeps its times."""
        path = self._path(entry_path(key))
        if self.down is not None:
            return
        with contextlib.suppress(OSError):
            with open(path, "rb") as fh:
                data = fh.read()
            with journal.writing(path, data):
                os.utime(path)


def _scan(top: str, pattern: re.Pattern[str]) -> Iterator[Item]:
    """The objects under ``top/<2 hex>/``: regular files named as ``pattern`` wants, in their own shard."""
    try:
        shards = sorted(os.scandir(top), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for shard in shards:
        if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
            continue
        try:
            files = sorted(os.scandir(shard.path), key=lambda e: e.name)
        except FileNotFoundError:  # removed by a trim meanwhile
            continue
        for f in files:
            m = pattern.fullmatch(f.name)  # a writer's temp file starts with "." and never matches
            if m is None or m.group(1)[:2] != shard.name:
                continue
            try:
                st = f.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield Item(m.group(1), st.st_size, st.st_mtime)


# -- anything fsspec reaches ----------------------------------------------------------------------------
class FsspecStore(Store):
    """A bucket or other fsspec filesystem. The filesystem is built on first use, so opening a store costs
    nothing (no credentials looked up, no connection) until the cache asks it something."""

    def __init__(self, url: str, options: dict[str, Any] | None = None, timeout: float = 10.0) -> None:
        import fsspec  # lazy: loads fsspec

        self.protocol = urlsplit(url).scheme.lower()
        if self.protocol not in fsspec.available_protocols():
            raise ValueError(f"{display_url(url)}: fsspec knows no {self.protocol}:// filesystem")
        self.url = display_url(url)
        self._raw_url = url
        self.options = dict(options or {})
        self.timeout = timeout
        self._fs: Any = None
        self._root = ""
        self._creates: bool | None = None

    def _filesystem(self) -> tuple[Any, str]:
        if self._fs is None:
            if self.protocol in ("gs", "gcs"):
                cls = _gcs_class()
            else:
                import fsspec  # lazy: loads fsspec

                cls = fsspec.get_filesystem_class(self.protocol)
            kwargs = {**cls._get_kwargs_from_urls(self._raw_url), **self.options}
            self._root = cls._strip_protocol(self._raw_url).rstrip("/")
            self._fs = cls(**kwargs)
        return self._fs, self._root

    def _budget(self, nbytes: int) -> float:
        return self.timeout + nbytes / MIN_RATE

    def _remote(
        self, what: str, call: Callable[[Any, str, dict[str, Any]], T], nbytes: int = 0, writing: bool = False
    ) -> T:
        """``call(fs, root, kw)``, its wait bounded; FileNotFoundError and FileExistsError are answers,
        anything else gives the store up (asyncio filesystems take a per-call ``timeout``, others none)."""
        self._check_up(writing)
        budget = self._budget(nbytes)
        try:
            fs, root = self._filesystem()
            kw = {"timeout": budget} if getattr(fs, "async_impl", False) else {}
            return call(fs, root, kw)
        except (FileNotFoundError, FileExistsError):
            raise
        except Exception as exc:  # aiohttp, google-auth, botocore, fsspec's timeouts: all mean "not now"
            raise self._give_up(what, _reason(exc, budget), writing and _refused(exc)) from exc

    def _get(self, rel: str, size: int | None) -> bytes | None:
        try:
            if size is None and rel.startswith(BLOBS):
                size = self._remote("read", lambda fs, root, kw: fs.info(f"{root}/{rel}", **kw)["size"])
            return self._remote("read", lambda fs, root, kw: fs.cat_file(f"{root}/{rel}", **kw), size or 0)
        except FileNotFoundError:  # in a missing bucket too: telling them apart takes a bucket permission
            return None

    def _create(self, rel: str, data: bytes) -> bool:
        def put(fs: Any, root: str, kw: dict[str, Any]) -> bool:
            path = f"{root}/{rel}"
            if self._creates is None:
                self._creates = _has_create_mode(fs)
            if self._creates:  # gcsfs: ifGenerationMatch=0, a 412 when the object exists
                fs.pipe_file(path, data, mode="create", **kw)
                return True
            # No create-only write here: check, then write. Two writers may both pass the check and the
            # later one wins; both wrote an answer identical in meaning, which the entry format tolerates.
            if fs.exists(path, **kw):
                return False
            fs.pipe_file(path, data, **kw)
            return True

        try:
            return self._remote("write", put, len(data), writing=True)
        except FileExistsError:
            return False
        except FileNotFoundError as exc:  # a bucket (or folder) that is not there
            raise self._give_up("write", f"no such bucket or folder: {_reason(exc)}") from exc

    def _exists(self, rel: str) -> bool:
        try:
            self._remote("stat", lambda fs, root, kw: fs.info(f"{root}/{rel}", **kw))
            return True
        except FileNotFoundError:
            return False

    def _list(self, top: str, pattern: re.Pattern[str]) -> Iterator[Item]:
        try:
            root, found = self._remote("list", lambda fs, root, kw: (root, fs.find(f"{root}/{top}", detail=True, **kw)))
        except FileNotFoundError as exc:  # gcsfs: the bucket is missing (a missing folder lists as empty)
            raise self._give_up("list", f"no such bucket or folder: {_reason(exc)}") from exc
        for path, info in sorted(found.items()):
            parts = path[len(root) :].strip("/").split("/")
            m = pattern.fullmatch(parts[-1])
            if len(parts) != 4 or m is None or parts[2] != m.group(1)[:2] or info.get("type", "file") != "file":
                continue
            yield Item(m.group(1), int(info.get("size") or 0), _mtime(info))

    def _delete(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._remote("delete", lambda fs, root, kw: fs.rm_file(f"{root}/{rel}", **kw), writing=True)


def _has_create_mode(fs: Any) -> bool:
    import inspect

    try:
        return "mode" in inspect.signature(fs.pipe_file).parameters
    except (TypeError, ValueError):
        return False


def _mtime(info: dict[str, Any]) -> float | None:
    """The last change of a listed object, in whichever field its filesystem reports it."""
    for field in ("mtime", "LastModified", "updated", "last_modified", "created"):
        value = info.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return None


@functools.cache
def _gcs_class() -> type:
    """gcsfs's plain filesystem class, trying each request ``GCS_TRIES`` times.

    ``gcsfs.core.GCSFileSystem``, not ``gcsfs.GCSFileSystem``: from gcsfs 2026.x the package-level name
    is a class that first asks a gRPC endpoint for each bucket's layout, with a 60 s retry budget (see
    tests/gcs_server.py). gcsfs binds its retry count when it defines ``_request``, so fewer tries take a
    subclass; if a later gcsfs hides the undecorated method, its own count stays and ``timeout`` bounds it.
    """
    import logging

    from gcsfs.core import GCSFileSystem
    from gcsfs.retry import retry_request

    # gcsfs logs each failed request with a traceback; the store's one-line reason says it instead.
    logging.getLogger("gcsfs").addHandler(logging.NullHandler())
    inner = getattr(GCSFileSystem._request, "__wrapped__", None)
    if inner is None:
        return GCSFileSystem

    class FewTriesGCSFileSystem(GCSFileSystem):
        _request = retry_request(retries=GCS_TRIES)(inner)

    return FewTriesGCSFileSystem


def display_url(url: str) -> str:
    """``url`` without the user, password and query it may carry: fit for messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def open_store(url: str, options: dict[str, Any] | None = None, timeout: float = 10.0) -> Store:
    """The store at ``url``: a path or ``file://`` URL is a folder; any other scheme goes through fsspec
    with ``options`` for its filesystem, each remote call bounded by ``timeout`` seconds."""
    if "://" not in url:
        if options:
            raise ValueError(f"{url}: options apply to remote stores only")
        return FolderStore(url)
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        if parts.netloc not in ("", "localhost") or options:
            raise ValueError(f"{display_url(url)}: a file:// store is a folder on this machine (file:///path)")
        return FolderStore(unquote(parts.path), url=url)
    return FsspecStore(url, options, timeout)
