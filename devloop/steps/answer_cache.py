"""The answer cache as a step run uses it: look a call's key up before asking, keep what the step accepted.

A judge's key holds its rendered prompt (which holds what it judges); an
author's adds the state of the files it may read beyond its prompt, with
the loop's own folders and the files this step and the later ones write
left out (they are what the answer replaces). A hit is checked before
anything is written: the entry field by field, every blob against its
hash, a judge's answer by the same grammar as a fresh one, an author's
files against the reach a fresh answer would have. Anything wrong is
named once, and the agent is asked. A store that cannot be reached is a
miss, said once.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devloop.confine import reach as R
from devloop.provenance import LOCK_NAME
from devloop.provenance.cache import entries, keys, upkeep, workstate
from devloop.provenance.cache.entries import BadEntry, Entry
from devloop.provenance.cache.stores import HostileBlob, Store, StoreUnreachable, open_store
from devloop.provenance.hashing import hash_bytes
from devloop.runtime.atomic import archive, atomic_write_bytes, remove
from devloop.runtime.redact import redact
from devloop.steps import change
from devloop.steps.files import has_text
from devloop.steps.order import ORDER
from devloop.steps.registry import STEPS

if TYPE_CHECKING:
    from devloop.config.workspace import Workspace
    from devloop.steps.run import StepRun

NO_CACHE = "DEVLOOP_NO_CACHE"  # set (to anything but 0) by `devloop run --no-cache`: every call is asked
ASK_AGAIN = ("redo", "drifted")  # attempts opened by `devloop redo`: the person wants a new answer


@dataclass
class Found:
    entry: Entry
    blobs: dict[str, bytes]
    store: str


_OPEN: dict[tuple[str, str, Any], Store] = {}  # shared stores opened in this process
_SAID: set[str] = set()  # what was said on stderr in this process
_GUARD = threading.Lock()  # reviewers' threads look answers up at the same time


def where(ws: Workspace, url: str) -> str:
    """A shared store's location: a folder path is taken from the workspace (``~`` expanded), as the local
    store's is, so every clone and every subfolder a command runs from finds the same store; a URL as written."""
    return url if "://" in url else _folder(ws, url)


def _folder(ws: Workspace, path: str) -> str:
    """A folder setting's path: ``~`` expanded, a relative one taken from the workspace."""
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.realpath(ws.root / path)


class AnswerCache:
    """The stores of one workspace in this process: the local one, then the shared ones, in order."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        cfg = ws.config_view.get("cache") or {}
        self.read = bool(cfg.get("read", True)) and os.environ.get(NO_CACHE, "") in ("", "0")
        self.write = bool(cfg.get("write", True))
        self.local: Store = open_store(_folder(ws, cfg.get("local") or ".devloop/cache"))
        self.shared: list[tuple[dict[str, Any], Store | None]] = [(s, None) for s in cfg.get("stores") or []]
        self.unusable: dict[int, str] = {}  # a shared store that cannot be used here -> why
        self._places: dict[str, str | None] = {}  # a folder store's root -> where agents may write that holds it

    # -- stores ----------------------------------------------------------------
    def _store(self, i: int) -> Store | None:
        spec, store = self.shared[i]
        if store is None:
            url = where(self.ws, spec["url"])
            how = (url, json.dumps(spec.get("options") or {}, sort_keys=True), spec.get("timeout"))
            store = _OPEN.get(how)  # one per process: a store found down stays down without asking again
            if store is None:
                try:
                    store = open_store(url, spec.get("options") or {}, float(spec.get("timeout") or 10))
                except (StoreUnreachable, ImportError, ValueError, OSError) as exc:
                    self.unusable[i] = str(exc) or type(exc).__name__
                    self.say(spec["url"], f"devloop: answer store {spec['url']} cannot be used ({exc}); it is skipped")
                    return None
                _OPEN[how] = store
            self.shared[i] = (spec, store)
        return store

    def readers(self) -> list[Store]:
        """The stores answers are read from: the local one, then the shared ones read, each only when no
        agent's program can write it."""
        out = [self.local]
        for i, (spec, _) in enumerate(self.shared):
            if spec.get("read", True) and (store := self._store(i)) is not None:
                out.append(store)
        return [s for s in out if self._trusted(s)]

    def snapshot_readers(self) -> list[Store]:
        """The stores whole features are restored from: the local one, and shared ones marked ``snapshots``."""
        if not self.read:
            return []
        out = [self.local]
        for i, (spec, _) in enumerate(self.shared):
            if spec.get("read", True) and spec.get("snapshots") and (store := self._store(i)) is not None:
                out.append(store)
        return [s for s in out if self._trusted(s)]

    def _trusted(self, store: Store) -> bool:
        """A folder agents' programs may write (``sandbox_writable``, an agent's ``writable``) is never read:
        an agent could leave answers there for questions to come."""
        root = getattr(store, "root", None)
        if root is None:
            return True
        if root not in self._places:  # judged once per store: each call looks its key up
            self._places[root] = agents_may_write(self.ws, root)
        place = self._places[root]
        if place is None:
            return True
        self.say(
            f"untrusted {root}",
            f"devloop: answer store {store.url} lies in {place}, which agents' programs may write; it is not "
            "read (move it, or the setting that lets agents write there)",
        )
        return False

    def writers(self) -> list[Store]:
        out = [self.local] if self.write else []
        for i, (spec, _) in enumerate(self.shared):
            if spec.get("push") and (store := self._store(i)) is not None:
                out.append(store)
        return out

    def say(self, topic: str, text: str) -> None:
        """One line on stderr, once per topic in this process."""
        with _GUARD:
            if topic in _SAID:
                return
            _SAID.add(topic)
        print(redact(text), file=sys.stderr, flush=True)

    def _down(self, store: Store, exc: BaseException) -> None:
        why = f"devloop: answer store {store.url} is unreachable ({exc}); the calls it would answer are asked"
        self.say(store.url, why)

    # -- lookups and writes --------------------------------------------------------
    def find(self, key: str) -> Found | None:
        """The first store's entry for ``key`` whose every blob is sound; None (ask the agent) otherwise."""
        if not self.read:
            return None
        for store in self.readers():
            try:
                got = upkeep.fetch(store, key)
                if got is None:
                    continue
                entry, blobs, _ = got
            except (StoreUnreachable, OSError) as exc:
                self._down(store, exc)
                continue
            except (BadEntry, HostileBlob) as exc:
                self.refused(key, store.url, str(exc))
                continue
            if store is not self.local:
                self._put([self.local] if self.write else [], entry, blobs)
            else:
                store.touch_entry(key)
            return Found(entry, blobs, store.url)
        return None

    def refused(self, key: str, url: str, why: str) -> None:
        text = f"devloop: refused the cached answer {key[:12]} from {url}: {why}; the agent is asked"
        self.say(f"refused {key} {url}", text)

    def keep(self, entry: Entry, blobs: dict[str, bytes]) -> None:
        """Store an accepted answer in the local store and the stores that take pushes; never fails the run."""
        self._put(self.writers(), entry, blobs)

    def _put(self, stores: list[Store], entry: Entry, blobs: dict[str, bytes]) -> None:
        for store in stores:
            try:
                upkeep.put(store, entry.key, entry.to_bytes(), blobs)  # create-only: an answer already kept stays
            except (StoreUnreachable, OSError) as exc:
                self._down(store, exc)


def agents_may_write(ws: Workspace, folder: str) -> str | None:
    """The place agents' programs may write that holds ``folder``, or None.

    Inside the workspace only devloop's state folder is out of every author's reach; outside it, the
    folders confined programs are given (``sandbox_writable``, an agent's ``writable``, ``$TMPDIR``).
    """
    real = os.path.realpath(folder)
    root = os.path.realpath(ws.root)
    if real == root or real.startswith(root + "/"):
        state = os.path.join(root, ".devloop")
        return None if real == state or real.startswith(state + "/") else "the workspace, where implementers write"
    view = ws.config_view
    places = [*view.get("sandbox_writable", []), os.environ.get("TMPDIR") or ""]
    for agent in (view.get("agents") or {}).values():
        places += agent.get("writable") or []
    for place in places:
        if not place:
            continue
        top = os.path.realpath(os.path.expanduser(place))
        if os.path.isabs(top) and (real == top or real.startswith(top.rstrip("/") + "/")):
            return place
    return None


def of(ws: Workspace) -> AnswerCache:
    """This process's cache of ``ws`` (made on first use)."""
    cache = ws.memo.get("answer-cache")
    if cache is None:
        cache = ws.memo["answer-cache"] = AnswerCache(ws)
    return cache


def usable(run: StepRun, agent: Any) -> bool:
    """Whether this call has a key at all: not a person's, not in an attempt `devloop redo` opened, and some
    store is read or written (with the cache off, no key is computed: an author's costs a walk of the files)."""
    if type(agent).__name__ == "ManualAgent" or run.forced_by in ASK_AGAIN:
        return False
    cache = of(run.ws)
    return cache.read or bool(cache.writers())


def _seat(run: StepRun, agent: Any) -> dict[str, Any]:
    view = run.ws.config_view.get("agents", {}).get(agent.name) or {}
    return keys.seat(view)


def _contract(parse: Any, answer_path: str) -> str:
    name = f"{getattr(parse, '__module__', '')}.{getattr(parse, '__qualname__', type(parse).__name__)}"
    return f"judge {name} -> {answer_path}"


def judge_key(run: StepRun, agent: Any, req: Any, parse: Any, prompt: str) -> str:
    return keys.call_key(
        step=run.step.name,
        role=req.role,
        call_id=req.call_id,
        prompt=prompt,
        contract=_contract(parse, req.answer_path or ""),
        seat=_seat(run, agent),
    )


def reads(run: StepRun) -> dict[str, str]:
    """What an author may read beyond its prompt (see :func:`state`)."""
    return state(run.ws, run.lock, run.step.name, run.feature)


def state(ws: Workspace, lock: Any, step: str, feature: str) -> dict[str, str]:
    """What a step's agents may read beyond their prompts, by git blob id: every file git lists (tracked, or
    new and not ignored) outside the loop's folders, and the feature's own folder (its plan, reviews...).

    Left out: the feature's lock and archive, and what this step and the steps after it wrote, unless it
    is an input of this step. Those are what its answers replace: an implementer's code from the run
    being redone is not part of the question, the plan it implements is.
    """
    later = set(ORDER[ORDER.index(step) :]) if step in ORDER else {step}
    ours = {p for s in later for p in lock.outputs(s)}
    ours |= {p for p, a in lock.artifacts.items() if isinstance(a, dict) and a.get("step") in later}
    if step in STEPS:
        ours -= set(STEPS[step].inputs(ws, feature, lock))
    own = f"plans/{feature}/"
    listed = change.listing_for_author(ws, feature)
    if listed is None:
        folder = ws.root / "plans" / feature
        listed = {*change.walk(ws.root), *(own + p for p in (change.walk(folder) if folder.is_dir() else []))}

    def read(p: str) -> bool:
        if change.is_loop_file(p):
            return p.startswith(own) and not p.endswith(f"/{LOCK_NAME}") and "/.history/" not in p
        return True

    # the ids of files outside the loop's folders are saved for the next process: those are the many that
    # seldom change; the feature's own files are few, and change with every run
    return workstate.blob_ids(ws.root, [p for p in listed if p not in ours and read(p)], save=_shared)


def _shared(rel: str) -> bool:
    return not change.is_loop_file(rel)


def step_key(feature: str, step: str, cur: Any) -> str:
    """The key of one run of a step: its inputs, template and configuration.

    It only numbers rounds (see :func:`pin_rounds`): every call of the run is still looked up by its
    own key, which holds what the call may read, so a run pinned wrongly asks its agents; nothing wrong
    is restored.
    """
    return keys.call_key(
        step=step,
        role="step",
        call_id=feature,
        prompt=json.dumps(cur.inputs, sort_keys=True),
        contract=f"step template={cur.template} config={cur.config}",
        seat={},
    )


@dataclass
class Pinned:
    key: str
    hit: bool  # the rounds were pinned from an entry: the run asks the questions of that earlier run


def pin_rounds(ws: Workspace, feature: str, step: str, lock: Any, cur: Any, attempt: Any) -> Pinned | None:
    """Before a new attempt: number its rounds as the earlier run on the same inputs did, if there was one.

    Review steps number rounds past the files on disk (rounds are never
    overwritten), so without this, undoing an edit would ask every review
    again under a new round number: the same question, another call.
    """
    cache = of(ws)
    if not (cache.read or cache.write) or attempt.forced in ASK_AGAIN or "first_round" in attempt.scratch:
        return None
    key = step_key(feature, step, cur)
    found = cache.find(key) if cache.read else None
    if found is None or found.entry.kind != "step" or found.entry.first_round is None:
        return Pinned(key, False)
    attempt.scratch["first_round"] = found.entry.first_round
    return Pinned(key, True)


def keep_rounds(ws: Workspace, pinned: Pinned, step: str, first_round: Any) -> None:
    """After a finished run: how it numbered its rounds, for a later run on the same inputs."""
    if pinned.hit or not isinstance(first_round, int):
        return
    entry = Entry(pinned.key, step, "step", "*", "step", writer=entries.writer(), first_round=first_round)
    of(ws).keep(entry, {})


def author_key(run: StepRun, agent: Any, req: Any, state: dict[str, str], revise: bool) -> str:
    """The key of an author call. What it is asked to watch (files a previous round wrote, which it may
    change) is left out: what they hold is in ``state`` or in the prompt."""
    contract = f"author files={sorted(req.expected_files)} revise={revise}"
    if os.environ.get("DEVLOOP_CACHE_TRACE"):
        print(f"devloop cache: {run.step.name}/{req.call_id} reads {json.dumps(state)}", file=sys.stderr)
    return keys.call_key(
        step=run.step.name,
        role=req.role,
        call_id=req.call_id,
        prompt=req.prompt,
        contract=contract,
        seat=_seat(run, agent),
        workspace=state,
    )


def record(run: StepRun, agent: Any, result: Any) -> dict[str, Any]:
    """The original call as an entry keeps it (for what a restore saves)."""
    from devloop.provenance.lockfile import now_iso

    usage = result.usage or {}
    return entries.record_of(
        {
            "agent": agent.name,
            "model": result.model or agent.model,
            "duration_s": round(result.duration_s, 3),
            "tokens_in": usage.get("tokens_in"),
            "tokens_out": usage.get("tokens_out"),
            "cost_usd": usage.get("cost_usd"),
            "time": now_iso(),
            "feature": run.feature,
            "exit_code": result.exit_code,
        }
    )


def judge_entry(run: StepRun, key: str, req: Any, text: str, rec: dict[str, Any]) -> tuple[Entry, dict[str, bytes]]:
    """A judge's answer as an entry: its text as written to the answer file (redacted)."""
    data = redact(text).encode("utf-8")
    sha = hash_bytes(data)
    entry = Entry(key, run.step.name, req.role, req.call_id, "judge", answer=sha, record=rec, writer=entries.writer())
    return entry, {sha: data}


def author_entry(
    run: StepRun, key: str, req: Any, changed: list[str], rec: dict[str, Any]
) -> tuple[Entry, dict[str, bytes]] | None:
    """What an author left, as an entry; None when it cannot be kept: a file that is not a regular file or
    cannot be read, or that holds a secret's value (a store is shared; devloop never copies a secret there)."""
    files, blobs, executable, deleted = {}, {}, [], []
    for rel in changed:
        path = run.ws.root / rel
        if not os.path.lexists(path):
            deleted.append(rel)
            continue
        if path.is_symlink() or not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if holds_secret(data):
            return None
        sha = hash_bytes(data)
        files[rel], blobs[sha] = sha, data
        if os.stat(path).st_mode & 0o100:
            executable.append(rel)
    entry = Entry(
        key,
        run.step.name,
        req.role,
        req.call_id,
        "author",
        files=files,
        executable=sorted(executable),
        deleted=sorted(deleted),
        record=rec,
        writer=entries.writer(),
    )
    return entry, blobs


def holds_secret(data: bytes) -> bool:
    """Whether ``data`` holds a value devloop redacts: such bytes never go to a store."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return redact(text) != text


def author_problem(found: Found, expected: list[str], reach: R.Reach) -> str | None:
    """Why a cached author answer cannot be restored here (out of reach, an expected file missing), or None."""
    entry = found.entry
    if entry.kind != "author":
        return f"it is a {entry.kind}'s answer"
    # An expected file the answer left as it was must be there now, as a fresh answer's would have to be.
    kept = [p for p in expected if p not in entry.files]
    if missing := [p for p in kept if p in entry.deleted or not has_text(reach.root / p)]:
        return f"it leaves {', '.join(missing)} missing or empty"
    if out := R.refused(reach, [*entry.files, *entry.deleted]):
        return f"it writes where an author may not: {R.described(out)}"
    return None


def restore_files(run: StepRun, found: Found) -> list[str]:
    """Write an author entry's files (archiving what they replace) and delete its deletions; the paths written."""
    entry, ws = found.entry, run.ws
    for rel, sha in sorted(entry.files.items()):
        path = ws.confined(rel)
        if os.path.lexists(path):
            if path.is_file() and not path.is_symlink() and hash_bytes(path.read_bytes()) == sha:
                run.register(rel, sha)
                continue
            archive(ws.root, path, ws.history_dir(run.feature), run.step.name)
        atomic_write_bytes(path, found.blobs[sha], 0o755 if rel in entry.executable else None)
        run.register(rel, sha)
    for rel in entry.deleted:
        path = ws.confined(rel)
        if os.path.lexists(path):
            archive(ws.root, path, ws.history_dir(run.feature), run.step.name)
            remove(path)
    return sorted(entry.files)
