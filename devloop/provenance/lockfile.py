"""Read and write ``plans/<feature>/devloop.lock``: the committed truth of a feature.

The lock is plain YAML so that it diffs well in review. It holds:

- ``artifacts``: every file devloop wrote for the feature, with the hash it had
  when devloop wrote it (a different hash on disk means a hand edit);
- ``steps``: per step, the hashes of its inputs, template and agent config it ran
  with, its outputs, its state, and (while unfinished) a journal of the calls
  already made so a killed run resumes without repeating them;
- ``gates``: approval stamps holding the hash of what was approved.

Records are plain dicts: reading the lock is on the no-op path of ``doit`` and
must stay cheap.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import yaml

from devloop.atomic import atomic_write_text

LOCK_NAME = "devloop.lock"
VERSION = 1
HEADER = "# devloop.lock: provenance written by devloop. Commit it; do not edit by hand.\n"

try:  # the C loader is several times faster; fall back when libyaml is absent
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def empty_lock(feature: str) -> dict[str, Any]:
    return {"version": VERSION, "feature": feature, "artifacts": {}, "steps": {}, "gates": {}}


def read_lock(path: Path, feature: str) -> dict[str, Any]:
    """The lock at ``path``, or an empty one; a corrupt lock is an error, not a reset."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty_lock(feature)
    from devloop.errors import DevloopError

    try:
        data = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise DevloopError(f"{path}: not valid YAML{where}; resolve conflicts or restore it from git") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise DevloopError(f"{path}: not a devloop lock of version {VERSION}; restore it from git")
    lock = empty_lock(feature)
    lock.update(data)
    for key in ("artifacts", "steps", "gates"):
        if not isinstance(lock.get(key), dict):
            lock[key] = {}
    return lock


def dump_lock(lock: dict[str, Any]) -> str:
    return HEADER + yaml.dump(lock, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)


def write_lock(path: Path, lock: dict[str, Any]) -> None:
    atomic_write_text(path, dump_lock(lock))
