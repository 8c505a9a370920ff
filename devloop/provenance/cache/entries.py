"""The record kept under a call's key, and reading one back without trusting it.

An entry is small JSON: which call it answers, the blobs of what the call
produced (the answer text; the files an author wrote, with the ones it
deleted), the ledger record of the original call (so a restore can say
what it saved) and who wrote the entry. Blobs are stored apart, named by
the sha256 of their bytes, so a blob is verified by reading it. An entry
read from a store is checked field by field; anything unexpected refuses
it whole (:class:`BadEntry`), and the caller asks the agent.
"""

from __future__ import annotations

import functools
import getpass
import json
import re
import socket
from dataclasses import asdict, dataclass, field
from typing import Any

from devloop import __version__
from devloop.provenance.lockfile import now_iso

VERSION = 1
_HEX = re.compile(r"[0-9a-f]{64}")
# A step entry pins how a step numbered its rounds (see first_round); a feature entry is a whole feature's
# lock and files, restored at once (devloop.loop.snapshots).
KINDS = ("judge", "author", "step", "feature")
# What of the original call's ledger line an entry keeps: its cost and who answered, nothing free-form.
RECORD_FIELDS = ("agent", "model", "duration_s", "tokens_in", "tokens_out", "cost_usd", "time", "feature", "exit_code")
CALL_FIELDS = ("step", "role", "call")  # a feature entry's records say which call each was
_SCALAR = (str, int, float, type(None))


class BadEntry(ValueError):
    """An entry that is not one devloop wrote as it should be: never restored."""


@dataclass(frozen=True)
class Entry:
    key: str
    step: str
    role: str
    call: str
    kind: str
    answer: str | None = None  # sha256 of the answer text (a judge's answer; an author's text, if any)
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of the bytes an author left there
    executable: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    writer: dict[str, str] = field(default_factory=dict)
    # A step's entry: the first round number its run used. A run of the step on the same inputs numbers its
    # rounds the same way, so its calls are the same questions (and round files the same files) as then.
    first_round: int | None = None
    records: list[dict[str, Any]] = field(default_factory=list)  # a feature entry: each call behind its answers

    def blobs(self) -> list[str]:
        """Every blob the entry needs, each once."""
        return list(dict.fromkeys([*([self.answer] if self.answer else []), *self.files.values()]))

    def to_bytes(self) -> bytes:
        fields = asdict(self)
        if not fields["records"]:
            del fields["records"]  # only a feature's entry has them: the others read as before
        return (json.dumps({"version": VERSION, **fields}, sort_keys=True, indent=1) + "\n").encode()


def record_of(ledger_line: dict[str, Any]) -> dict[str, Any]:
    """What an entry keeps of the original call's ledger line."""
    return {k: ledger_line[k] for k in RECORD_FIELDS if isinstance(ledger_line.get(k), _SCALAR) and k in ledger_line}


def writer() -> dict[str, str]:
    """Who writes an entry now: user, host, time, devloop's version (a store's readers can see whose answers)."""
    return {**_who(), "at": now_iso()}


@functools.cache
def _who() -> dict[str, str]:
    """User, host and devloop's version: asked once per process (a step keeps several entries)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"user": user, "host": socket.gethostname(), "devloop": __version__}


def safe_path(rel: object) -> bool:
    """A relative POSIX path inside the workspace, outside git's folder (restores check the reach as well)."""
    if not isinstance(rel, str) or not rel or "\0" in rel or "\\" in rel or rel.startswith("/"):
        return False
    parts = rel.split("/")
    return all(p not in ("", ".", "..") for p in parts) and parts[0] != ".git"


def parse(data: bytes, key: str) -> Entry:
    """The entry stored under ``key``, checked; :class:`BadEntry` names the first thing wrong."""
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise BadEntry(f"not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise BadEntry("not a JSON object")
    if raw.get("version") != VERSION:
        raise BadEntry(f"version {raw.get('version')!r}, this devloop reads {VERSION}")
    known = {"version", *Entry.__dataclass_fields__}
    if extra := sorted(set(raw) - known):
        raise BadEntry(f"unknown fields {extra}")
    if raw.get("key") != key:
        raise BadEntry("it is stored under another key than its own")
    for name in ("step", "role", "call"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise BadEntry(f"{name} is not a name")
    if raw.get("kind") not in KINDS:
        raise BadEntry(f"kind {raw.get('kind')!r}")
    answer = raw.get("answer")
    if answer is not None and not (isinstance(answer, str) and _HEX.fullmatch(answer)):
        raise BadEntry("answer is not a sha256")
    if raw["kind"] == "judge" and answer is None:
        raise BadEntry("a judge's entry without an answer")
    first = raw.get("first_round")
    if raw["kind"] == "step":
        if type(first) is not int or not 1 <= first <= 1_000_000:
            raise BadEntry("a step's entry without a first round")
        if answer is not None or raw.get("files") or raw.get("deleted"):
            raise BadEntry("a step's entry holds an answer")
    elif first is not None:
        raise BadEntry(f"a {raw['kind']}'s entry with a first round")
    records = raw.get("records", [])
    if raw["kind"] == "feature":
        if answer is not None or raw.get("deleted") or not raw.get("files"):
            raise BadEntry("a feature's entry must hold files only")
        allowed = (*RECORD_FIELDS, *CALL_FIELDS)
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and all(k in allowed and isinstance(v, _SCALAR) for k, v in r.items()) for r in records
        ):
            raise BadEntry("records are not calls' costs")
    elif records:
        raise BadEntry(f"a {raw['kind']}'s entry with records")
    files = raw.get("files", {})
    if not isinstance(files, dict) or not all(
        safe_path(p) and isinstance(s, str) and _HEX.fullmatch(s) for p, s in files.items()
    ):
        raise BadEntry("files are not workspace paths with sha256s")
    for name in ("executable", "deleted"):
        paths = raw.get(name, [])
        if not isinstance(paths, list) or not all(safe_path(p) for p in paths):
            raise BadEntry(f"{name} are not workspace paths")
    if not set(raw.get("executable", [])) <= set(files):
        raise BadEntry("an executable file it does not hold")
    if set(raw.get("deleted", [])) & set(files):
        raise BadEntry("a file both written and deleted")
    record, who = raw.get("record", {}), raw.get("writer", {})
    fine = isinstance(record, dict) and all(k in RECORD_FIELDS and isinstance(v, _SCALAR) for k, v in record.items())
    if not fine:
        raise BadEntry("record holds other fields than a call's cost and agent")
    if not isinstance(who, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in who.items()):
        raise BadEntry("writer is not names")
    return Entry(
        key=key,
        step=raw["step"],
        role=raw["role"],
        call=raw["call"],
        kind=raw["kind"],
        answer=answer,
        files=dict(files),
        executable=list(raw.get("executable", [])),
        deleted=list(raw.get("deleted", [])),
        record=dict(record),
        writer=dict(who),
        first_round=first,
        records=[dict(r) for r in records],
    )
