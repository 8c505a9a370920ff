"""Read and write ``plans/<feature>/devloop.lock``: the committed truth of a feature.

The lock is plain YAML so that it diffs well in review. It holds:

- ``artifacts``: every file devloop wrote for the feature, with the hash it had
  when devloop wrote it (a different hash on disk means a hand edit);
- ``steps``: per step, the hashes of its inputs, template and agent config it ran
  with, its outputs, its state, and (while unfinished) its attempt: a journal of
  the calls already made, so a killed run resumes without repeating them;
- ``gates``: approval stamps holding the hash of what was approved.

What those records mean, and every change of them, lives in
:mod:`devloop.provenance.state`; this module only parses and serialises.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from devloop.atomic import atomic_write_text
from devloop.provenance.hashing import hash_bytes
from devloop.provenance.state import VERSION, FeatureLock

LOCK_NAME = "devloop.lock"
READABLE = (1, VERSION)  # version 1 locks are migrated when read
HEADER = "# devloop.lock: provenance written by devloop. Commit it; do not edit by hand.\n"


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def empty_lock(feature: str) -> FeatureLock:
    return FeatureLock(feature)


def _yaml() -> tuple[Any, Any, Any]:
    """PyYAML with its C loader/dumper when available; imported only when needed."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml, loader, dumper


def read_lock(path: Path, feature: str, cache_dir: Path | None = None) -> FeatureLock:
    """The lock at ``path``, or an empty one; a corrupt lock is an error, not a reset.

    Parsing YAML dominates the no-op ``doit``; with ``cache_dir`` a JSON copy
    keyed by the lock's content hash is used instead while the lock is unchanged.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty_lock(feature)
    sha = hash_bytes(raw)
    cache = cache_dir / f"{feature}.json" if cache_dir is not None else None
    if cache is not None:
        try:
            cached = json.loads(cache.read_bytes())
            if cached.get("sha") == sha:
                return FeatureLock.from_dict(cached["lock"], feature)
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            pass
    data = _parse(path, raw.decode("utf-8"))
    lock = FeatureLock.from_dict(data, feature)
    if cache is not None:
        _write_cache(cache, sha, lock.to_dict())
    return lock


def _write_cache(cache: Path, sha: str, data: dict[str, Any]) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps({"sha": sha, "lock": data}), fsync=False)
    except OSError:
        pass  # the cache is an optimisation; the lock stays the truth


def _parse(path: Path, text: str) -> dict[str, Any]:
    from devloop.errors import DevloopError

    yaml, loader, _ = _yaml()
    try:
        data = yaml.load(text, Loader=loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise DevloopError(f"{path}: not valid YAML{where}; resolve conflicts or restore it from git") from None
    if not isinstance(data, dict) or data.get("version") not in READABLE:
        raise DevloopError(f"{path}: not a devloop lock of version {VERSION}; restore it from git")
    return data


def dump_lock(lock: FeatureLock) -> str:
    yaml, _, dumper = _yaml()
    return HEADER + yaml.dump(
        lock.to_dict(), Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=True
    )


def write_lock(path: Path, lock: FeatureLock, cache_dir: Path | None = None) -> None:
    text = dump_lock(lock)
    atomic_write_text(path, text)
    if cache_dir is not None:
        _write_cache(cache_dir / f"{lock.feature}.json", hash_bytes(text.encode("utf-8")), lock.to_dict())
