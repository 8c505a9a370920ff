"""Read and write ``plans/<feature>/devloop.lock``: the committed truth of a feature.

The lock is YAML written in its JSON form (indented, keys sorted, one value
a line), between comment lines (a header; last, the proof line of
:mod:`devloop.provenance.proof`): it diffs well in review, any YAML reader
reads it and any JSON reader once the ``#`` lines are left out, and it
parses forty times faster than block YAML, which a fresh clone of a thousand
features feels. Locks in block YAML (devloop before 0.x) are still read. It holds:

- ``artifacts``: every file devloop wrote for the feature, with the hash it had
  when devloop wrote it (a different hash on disk means a hand edit);
- ``steps``: per step, the hashes of its inputs, template and agent config it ran
  with, its outputs, its state, and (while unfinished) its attempt: a journal of
  the calls already made, so a killed run resumes without repeating them;
- ``gates``: approval stamps holding the hash of what was approved;
- ``blobs``: for each content hash above, the git blob id of the same bytes,
  so that a fresh clone need not hash a file git reports unchanged
  (:mod:`devloop.provenance.gitclean`).

What those records mean, and every change of them, lives in
:mod:`devloop.provenance.state`; this module only parses and serialises.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from devloop.provenance import LOCK_NAME as LOCK_NAME  # re-exported: callers name it here
from devloop.provenance import gitclean, jsontext, proof
from devloop.provenance.hashing import hash_bytes
from devloop.provenance.migrate import migrate_v1
from devloop.provenance.state import VERSION, FeatureLock
from devloop.runtime.atomic import atomic_write_bytes, atomic_write_text
from devloop.runtime.errors import CorruptLock
from devloop.runtime.redact import redact

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

    A lock in block YAML (written by an older devloop) is slow to parse; with
    ``cache_dir`` a JSON copy keyed by its content hash is used instead while
    it is unchanged. The JSON form needs no copy: it is read directly.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty_lock(feature)
    cache = cache_dir / f"{feature}.json" if cache_dir is not None else None
    if raw[:1] in (b"#", b"{") and _json_form(raw.decode("utf-8", "replace")):
        try:
            return _learnt(_load(raw, feature))
        except _Bad as bad:
            raise CorruptLock(_explain(path, bad, cache)) from None
    sha = hash_bytes(raw)
    if cache is not None:
        try:
            cached = json.loads(cache.read_bytes())
            if cached.get("sha") == sha:
                return _learnt(FeatureLock.from_dict(cached["lock"], feature))
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            pass
    try:
        lock = _load(raw, feature)
    except _Bad as bad:
        raise CorruptLock(_explain(path, bad, cache)) from None
    if cache is not None:
        _write_cache(cache, sha, lock.to_dict())
    return _learnt(lock)


def _learnt(lock: FeatureLock) -> FeatureLock:
    """The lock, its hash/blob pairs noted for judging files git reports unchanged."""
    if lock.blobs:
        gitclean.learn(lock.blobs)
    return lock


def _paired(lock: FeatureLock) -> None:
    """Give the lock the blob id of every content hash it records, where known (see ``blobs`` above)."""
    hashes: set[str] = set()
    todo: list[Any] = [
        lock.artifacts,
        [s.to_dict() for s in lock.steps.values()],
        [g.subject for g in lock.gates.values()],
    ]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
        elif isinstance(value, str) and len(value) == 64:
            hashes.add(value)
    lock.blobs = gitclean.pairs_for(hashes, lock.blobs)


def _write_cache(cache: Path, sha: str, data: dict[str, Any] | str) -> None:
    """``data``: the lock's dict, or the JSON text of it already made (a lock just written: not encoded twice)."""
    body = data if isinstance(data, str) else json.dumps(data)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, f'{{"sha": "{sha}", "lock": {body}}}', fsync=False)
    except OSError:
        pass  # the cache is an optimisation; the lock stays the truth


class _Bad(Exception):
    """What is wrong with a lock's text, and on which line (when known)."""

    def __init__(self, what: str, line: int | None = None) -> None:
        super().__init__(what)
        self.what, self.line = what, line


def _load(raw: bytes, feature: str) -> FeatureLock:
    """Parse and check a lock's bytes; raises :class:`_Bad` for anything devloop did not write."""
    raw = proof.split(raw)[0]  # the proof line (see devloop.provenance.proof) is no part of the records
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad("not UTF-8 text", raw[: exc.start].count(b"\n") + 1) from None
    data = _parse_json(text) if _json_form(text) else _parse(text)
    if data.get("version") == 1:
        data = migrate_v1(data)
    problem = _check(data, _LOCK, [])
    if problem is not None:
        where, what = problem
        raise _Bad(f"{_dotted(where)}: {what}", _line_of(text, where))
    try:
        return FeatureLock.from_dict(data, feature)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a value the checks above let through
        raise _Bad(f"not a devloop lock ({type(exc).__name__}: {exc})") from None


def parse_lock(raw: bytes, feature: str) -> FeatureLock | None:
    """A lock from bytes already read (its proof line ignored); None when they are not a lock devloop wrote."""
    try:
        return _learnt(_load(raw, feature))
    except _Bad:
        return None


def append_proof(path: Path, body: bytes, line: bytes) -> bool:
    """Give the lock at ``path`` the proof ``line``, when its records are still ``body``; whether it has it now.

    Written as the lock is (temp file, fsync, rename): the records are never
    at risk. Any other proof line it had is replaced.
    """
    try:
        now = path.read_bytes()
    except OSError:
        return False
    if proof.split(now)[0] != body:
        return False  # rewritten since it was judged: the next run that writes it proves it
    if now != body + line:
        atomic_write_bytes(path, body + line)
    return True


def _json_form(text: str) -> bool:
    """True for a lock in the JSON form devloop writes: comment lines, then an object."""
    body = text.lstrip()
    while body.startswith("#"):
        body = body.partition("\n")[2].lstrip()
    return body.startswith("{")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a value devloop writes")


def _parse_json(text: str) -> dict[str, Any]:
    """The JSON form; comment lines are blanked (not removed) so that line numbers stay the file's."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("{"):
            break
        if stripped.startswith("#"):
            lines[i] = ""
    try:
        data = json.loads("\n".join(lines), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _Bad(f"not valid JSON ({exc.msg})", exc.lineno) from None
    except ValueError as exc:  # NaN, Infinity
        raise _Bad(f"not a devloop lock ({exc})") from None
    except RecursionError:
        raise _Bad("not a devloop lock (nested too deeply)") from None
    return _versioned(data, text)


def _parse(text: str) -> dict[str, Any]:
    yaml, loader, _ = _yaml()
    try:
        data = yaml.load(text, Loader=loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        what = f"not valid YAML ({problem})" if problem else "not valid YAML"
        raise _Bad(what, mark.line + 1 if mark is not None else None) from None
    return _versioned(data, text)


def _versioned(data: Any, text: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _Bad(f"not a devloop lock ({_kind(data)} instead of a mapping)", 1)
    version = data.get("version")
    if version is None:
        raise _Bad("no version field: not a devloop lock")
    if version not in READABLE:
        raise _Bad(f"version: {version!r} is not a lock version this devloop reads", _line_of(text, ["version"]))
    return data


# What each field holds, where a lock written by devloop always has it: a type (or types),
# ``{"*": spec}`` a mapping of such values, ``{field: spec}`` a record, ``[spec]`` a list.
# An empty value (null) is always accepted: it reads as the field's default.
_HASHES: dict[str, Any] = {"*": str}
_ATTEMPT = {
    "n": int,
    "base": _HASHES,
    "calls": [{"id": str, "outputs": _HASHES, "data": dict}],
    "waits": {"*": {"paths": [str], "before": _HASHES}},
    "rejected": {"*": {"outputs": _HASHES}},
    "scratch": dict,
    "calls_made": int,
}
_STEP = {
    "state": str,
    "force": {"by": str, "reason": str, "seed": dict},
    "attempt": _ATTEMPT,
    "attempts": int,
    "inputs": _HASHES,
    "outputs": [str],
    "data": dict,
    "adopted": [str],
    "calls": int,
    "agent_seconds": (int, float),
    "duration_s": (int, float),
}
_LOCK = {
    "feature": str,
    "artifacts": {"*": {"sha256": str, "step": str}},
    "steps": {"*": _STEP},
    "gates": {"*": {"step": str, "subject": _HASHES, "status": str}},
    "deploy": dict,
    "smoke": dict,
    "blobs": _HASHES,
}
_KINDS = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true/false",
}


def _kind(value: Any) -> str:
    return "empty" if value is None else _KINDS.get(type(value), type(value).__name__)


def _ok(value: Any, spec: Any) -> bool:
    """``_check`` without the key path, for the usual case of a good lock (JSON and YAML give exact types).

    A record's fields are walked from the value (an absent field is empty,
    and empty is always accepted): a lock drops its empty fields, so that is
    the shorter walk; a fresh clone of a thousand features checks every lock.
    """
    if value is None:
        return True
    kind = type(spec)
    if kind is type:
        return type(value) is spec
    if kind is tuple:
        return type(value) in spec
    if kind is list:
        if type(value) is not list:
            return False
        inner = spec[0]
        if type(inner) is type:
            return all(v is None or type(v) is inner for v in value)
        return all(_ok(v, inner) for v in value)
    if type(value) is not dict:
        return False
    star = spec.get("*")
    if star is not None:
        if type(star) is type:
            return all(v is None or type(v) is star for v in value.values())
        return all(_ok(v, star) for v in value.values())
    for key, v in value.items():
        inner = spec.get(key)
        if inner is None or v is None:
            continue
        if type(inner) is type:  # the common leaf, checked here rather than in a call
            if type(v) is not inner:
                return False
        elif not _ok(v, inner):
            return False
    return True


def _check(value: Any, spec: Any, where: list[Any]) -> tuple[list[Any], str] | None:
    """The first field (as a key path) whose value is not what devloop writes there, and why."""
    if not where and _ok(value, spec):
        return None
    if value is None:
        return None
    if isinstance(spec, list):
        if not isinstance(value, list):
            return where, f"expected a list, got {_kind(value)}"
        return next((p for i, v in enumerate(value) if (p := _check(v, spec[0], [*where, i]))), None)
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return where, f"expected a mapping, got {_kind(value)}"
        if "*" in spec:
            return next((p for k, v in value.items() if (p := _check(v, spec["*"], [*where, k]))), None)
        return next((p for k, s in spec.items() if (p := _check(value.get(k), s, [*where, k]))), None)
    types = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
        return None
    return where, f"expected {' or '.join(_KINDS[t] for t in types)}, got {_kind(value)}"


def _dotted(where: list[Any]) -> str:
    """A key path as a person reads it: ``steps.plan.outputs[0]``."""
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in where).lstrip(".")


def _line_of(text: str, where: list[Any]) -> int | None:
    """The line of the field at ``where`` (a key path), found in the YAML's node tree."""
    yaml, loader, _ = _yaml()
    node = yaml.compose(text, Loader=loader)
    for key in where:
        if node is None:
            return None
        if node.id == "mapping":
            node = next((v for k, v in node.value if k.value == str(key)), None)
        elif node.id == "sequence" and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return None
    return node.start_mark.line + 1 if node is not None else None


def _explain(path: Path, bad: _Bad, cache: Path | None) -> str:
    """One line: the file and line, what is wrong, that nothing was touched, and where a good copy is."""
    flush_copies()
    shown = _shown(path)
    line = f":{bad.line}" if bad.line else ""
    msg = f"{shown}{line}: {bad.what}. devloop left it as it is; "
    msg += f"restore it from git (git checkout -- {shown}) or fix it"
    if cache is not None and _readable_cache(cache):
        msg += f"; the last version devloop read is kept as JSON in {_shown(cache)}"
    return msg


def _readable_cache(cache: Path) -> bool:
    try:
        return isinstance(json.loads(cache.read_bytes()).get("lock"), dict)
    except (OSError, ValueError, AttributeError):
        return False


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it (as a person would type it)."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def dump_lock(lock: FeatureLock) -> str:
    """The lock's text: the header, then the JSON form (see the module docstring)."""
    return HEADER + jsontext.dumps(lock.to_dict()) + "\n"


def write_lock(path: Path, lock: FeatureLock, cache_dir: Path | None = None) -> None:
    """Write the lock (redacted: it is committed) and its JSON cache of what was written."""

    _paired(lock)
    text = dump_lock(lock)
    if redact(text) != text:  # a secret in a detail or a recorded reason: mask it in every string value
        lock = FeatureLock.from_dict(_redacted(lock.to_dict()), lock.feature)
        text = dump_lock(lock)
    atomic_write_text(path, text)
    if cache_dir is not None:
        _copy_later(cache_dir / f"{lock.feature}.json", hash_bytes(text.encode("utf-8")), text[len(HEADER) :])


# The JSON copy of each lock last written, not yet on disk. A step writes its lock several times (begun, each
# answer, done); the copy (a last good version to name when a lock is found damaged) is written once, when
# the step ends (:func:`flush_copies`, called by the engine) or when the process exits.
_PENDING: dict[Path, tuple[str, str]] = {}
_EXIT_HOOK: list[bool] = []


def _copy_later(cache: Path, sha: str, body: str) -> None:
    if not _PENDING and not _EXIT_HOOK:
        import atexit

        atexit.register(flush_copies)
        _EXIT_HOOK.append(True)
    _PENDING[cache] = (sha, body)


def flush_copies() -> None:
    """Write the pending JSON copies of locks (see :data:`_PENDING`)."""
    while _PENDING:
        try:
            cache, (sha, body) = _PENDING.popitem()
        except KeyError:  # another thread took the last one
            return
        _write_cache(cache, sha, body)
