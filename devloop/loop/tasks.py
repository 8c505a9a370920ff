"""Turn features x steps into doit tasks whose staleness is judged by the lock.

Every task names its artifacts as doit ``targets`` and the upstream
artifacts it reads as ``file_dep``, so ``doit plans/<f>/reviews.md`` brings exactly
that artifact (and its upstream) up to date and ``doit info`` shows the
graph. Staleness stays the lock's: an ``uptodate`` callable asks
``devloop.loop.engine`` (content hashes against ``devloop.lock``), file_dep
states are never compared (:class:`LockFileChecker`), and a task the lock
holds up to date has its file_dep state seeded, since doit's database is a
per-machine cache and a fresh clone must call no agent. A missing target
makes its step stale, as in make. ``smoke`` has neither: ``doit smoke``
verifies deploys and never runs an agent step upstream (it refuses instead).
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from doit.dependency import MD5Checker, UptodateCalculator

from devloop.config.workspace import Workspace
from devloop.loop import doitrun
from devloop.loop.doitrun import FAST, NOT_DEPLOYED, ROOT, command_line
from devloop.loop.targets import artifacts
from devloop.provenance import LOCK_NAME, gitclean
from devloop.provenance.hashing import COUNTS, quiet
from devloop.steps.order import DEFAULT, ORDER, SUMMARIES, doit_dep

if TYPE_CHECKING:
    from devloop.runtime.errors import DevloopError


class LockFileChecker(MD5Checker):
    """For devloop's artifacts, file_dep is the graph only: the lock, not doit's database, says what changed.

    Any other file (a task of the user's own in the same dodo.py) is checked
    as doit always does (timestamp, size, MD5).
    """

    _STAT = os.stat_result((0,) * 10)

    @staticmethod
    def ours(path: str) -> bool:
        return path.startswith(("plans/", "scripts/smoke/"))

    def info(self, file_path: str) -> os.stat_result:
        if self.ours(file_path):
            return self._STAT  # a missing upstream artifact is the lock's business, not a doit error
        return super().info(file_path)

    def check_modified(self, file_path: str, file_stat: Any, state: Any) -> bool:
        return False if self.ours(file_path) else super().check_modified(file_path, file_stat, state)

    def get_state(self, dep: str, current_state: Any) -> Any:
        if self.ours(dep):
            return "lock" if current_state is None else None
        return super().get_state(dep, current_state)


class LockUpToDate(UptodateCalculator):
    """doit ``uptodate`` entry: True when the step's lock record matches the workspace."""

    # doit asks inspect.signature() which arguments to pass, for every task on every run: say it once
    __signature__ = inspect.Signature([inspect.Parameter("task", inspect.Parameter.POSITIONAL_OR_KEYWORD)])

    def __init__(self, root: Path, feature: str, step: str) -> None:
        super().__init__()
        self.root, self.feature, self.step = root, feature, step
        self._dep_manager: Any = None

    def setup(self, dep_manager: Any, tasks_dict: Any) -> None:
        self._dep_manager = doitrun.STORE["deps"] = dep_manager  # the reporter drops outcomes it has read

    def configure_task(self, task: Any) -> None:
        """doit probes every uptodate item for this hook when it builds a task; a step needs none.

        Defined so the probe finds it: a missing attribute costs doit a raised and caught
        AttributeError per task, 14,000 of them at 1000 features.
        """

    def __str__(self) -> str:
        """devloop's reason, in ``devloop why``'s words: what ``doit info`` prints for a step not up to date.

        Judged only when asked (doit formats an uptodate entry for ``info``
        alone), from the verdict memo when the run already settled it.
        """
        from devloop.loop.engine import judged  # lazy: off the path of a no-op doit and devloop --help
        from devloop.provenance.staleness import LABELS  # lazy: off the path of a no-op doit and devloop --help

        try:
            st = judged(_workspace(self.root), self.feature, self.step)
        except Exception as exc:  # a damaged lock is the step's to report; here, say so only
            return f"devloop: {self.step}:{self.feature} cannot be judged: {exc}"
        reasons = "; ".join(st.reasons)
        return f"devloop: {LABELS.get(st.state, st.state)}" + (f" - {reasons}" if reasons else "")

    __repr__ = __str__

    def __call__(self, task: Any) -> bool:
        fresh = self._fresh()
        if fresh and self._dep_manager is not None:
            # doit's own store agrees with the lock: a fresh clone has no state for file_dep yet, and the
            # list of upstream artifacts grows as steps run (which doit would take for a change)
            get, seed = self._dep_manager._get, self._dep_manager._set
            name = task.name
            if get(name, "checker:") != _CHECKER:
                seed(name, "checker:", _CHECKER)
            deps = task.file_dep
            known = get(name, "deps:")
            if known is None or len(known) != len(deps) or not deps.issuperset(known):
                seed(name, "deps:", tuple(deps))
            record = doitrun.db_record(self._dep_manager, name)
            for dep in deps if record is None else [d for d in deps if d not in record]:
                if get(name, dep) is None:
                    seed(name, dep, "lock")
            if get(name, "_values_:"):  # the outcome of the run that made it: the reporter had it then
                doitrun.forget_outcome(self._dep_manager, name)
        return fresh

    def _fresh(self) -> bool:
        from devloop.runtime import wslock  # lazy: off the path of a no-op doit and devloop --help

        wslock.watch_forks()  # before doit forks a worker: workers die with this process
        ws = _workspace(self.root)
        hit = ws.verdicts.get(f"{self.feature}:{self.step}")
        if hit is not None:
            if hit[0] == UNDEPLOYED:
                NOT_DEPLOYED.append(self.feature)
            return True
        fresh = self._judge(ws)
        if not fresh:
            # a step will run now and write files: from here on no stat is taken from memory
            ws.verdicts.live = True
        return fresh

    def _judge(self, ws: Workspace) -> bool:
        """The slow way: the lock and content hashes; a settled answer is kept for the next run."""
        from devloop.loop.engine import judged  # lazy: off the path of a no-op doit and devloop --help
        from devloop.runtime import wslock  # lazy: off the path of a no-op doit and devloop --help
        from devloop.runtime.errors import DevloopError  # lazy: off the path of a no-op doit and devloop --help

        try:
            if self.step == "smoke" and not ws.read_lock_shared(self.feature).deploy:
                NOT_DEPLOYED.append(self.feature)  # nothing to verify; the reporter says so once
                lock = f"plans/{self.feature}/{LOCK_NAME}"
                ws.verdicts.record(f"{self.feature}:{self.step}", [UNDEPLOYED, []], [lock])
                return True
            fresh = judged(ws, self.feature, self.step).fresh
            if not fresh:
                wslock.acquire(ws.state)  # here, in doit's main process, before any worker runs a step
        except DevloopError as exc:
            _stop(exc)
        return fresh


_CHECKER = LockFileChecker.__name__
UNDEPLOYED = "undeployed"  # the memo's answer for smoke of a feature with no deploy recorded


def _stop(exc: DevloopError) -> NoReturn:
    """End the run with one line: a corrupt lock, a busy workspace.

    doit waits for the workers it already started (``doit -n``, for an
    up-to-date group task) before it exits, and they wait for work that never
    comes: so they are stopped here first.
    """
    from devloop.runtime import interrupts, wslock  # lazy: off the path of a no-op doit and devloop --help
    from devloop.runtime.redact import redact  # lazy: off the path of a no-op doit and devloop --help

    print(f"devloop: error: {redact(str(exc))}", file=sys.stderr, flush=True)
    interrupts.stop_workers(grace=5.0, gently=wslock.holding())
    raise SystemExit(exc.exit_code) from None


_workspaces: dict[Path, Workspace] = {}


def _workspace(root: Path) -> Workspace:
    ws = _workspaces.get(root)
    if ws is None:
        ws = _workspaces[root] = Workspace(root)
    return ws


def run_step(root: str, feature: str, step: str) -> Any:
    """doit action: bring one step up to date; the outcome goes to the reporter as task values."""
    from doit.exceptions import TaskFailed

    from devloop.loop.engine import Outcome, execute  # lazy: off the path of a no-op doit and devloop --help
    from devloop.runtime.errors import DevloopError  # lazy: off the path of a no-op doit and devloop --help

    ws = Workspace(Path(root))  # fresh: never reuse a config or lock read before the lock was taken
    try:
        outcome = execute(ws, feature, step)
        _after_step(Path(root), feature)
    except DevloopError as exc:
        outcome = Outcome("error", feature, step, detail=str(exc), next="doit  (after fixing the cause above)")
    except KeyboardInterrupt:
        from devloop.runtime import procs  # lazy: off the path of a no-op doit and devloop --help

        procs.stop_all()
        print(
            f"devloop: interrupted {step}:{feature}; its agents were stopped and the call is recorded. Next: doit",
            file=sys.__stderr__,
            flush=True,
        )
        raise SystemExit(130) from None
    if step == "smoke" and outcome.kind in ("waiting", "gate"):
        outcome = _smoke_failure(ws, outcome)
    if outcome.kind in ("failed", "error", "refused"):
        fail = TaskFailed(f"{feature}:{step}: {outcome.detail}")
        fail.devloop = outcome.as_dict()  # type: ignore[attr-defined]
        return fail
    return {"devloop": outcome.as_dict()}


def _smoke_failure(ws: Workspace, outcome: Any) -> Any:
    """A smoke run that failed is a failed task, whoever triages and whatever triage decided.

    The step stops as waiting (triage or its fix waits for a person, or for a
    redeploy) or at the round-trip gate, and its record says so; doit's exit
    code is 1 all the same, so a CI job on a deploy whose checks failed is red.
    """
    from dataclasses import replace

    from devloop.steps.smoke import unsettled_failure  # lazy: off the path of a no-op doit and devloop --help

    why = unsettled_failure(ws, outcome.feature, outcome.kind, outcome.artifact)
    if why is None:
        return outcome
    nxt = outcome.next
    if nxt.endswith(", then doit"):  # a plain doit never runs smoke: the answer is read by doit smoke:<f>
        nxt += f" smoke:{outcome.feature}"
    return replace(outcome, kind="failed", detail=why, next=nxt)


def _after_step(root: Path, feature: str) -> None:
    """A step ran in doit's own process and thread (plain ``doit``), and it is over: its files are written.

    The main workspace's memo may take stats from memory again until the
    next step starts. Not in a forked worker or a thread of ``doit -n``/``-P
    thread``: there steps run while others are judged, so every stat stays fresh.
    """
    import threading

    main = _workspaces.get(root)
    if main is not None and threading.current_thread() is threading.main_thread() and os.getpid() == _MAIN_PID:
        main.verdicts.settle(feature)


_MAIN_PID = os.getpid()


# doit's commands that see every task; a run (the default command) builds only the tasks it can reach.
_WHOLE_GRAPH = {
    "list",
    "info",
    "forget",
    "clean",
    "ignore",
    "reset-dep",
    "strace",
    "dumpdb",
    "auto",
    "help",
    "tabcompletion",
}


def wants_smoke(argv: list[str]) -> bool:
    """Whether this doit command can reach a smoke task: ``doit smoke[:f]``, or a command that sees them all.

    A plain ``doit`` (or ``doit evaluate:a``) never runs smoke, and a
    thousand features make a thousand smoke tasks for doit to build and
    judge for nothing: they are left out of such a run only.
    """
    words = [a for a in argv if not a.startswith("-")]
    return any("smoke" in a for a in argv) or bool(words and words[0] in _WHOLE_GRAPH)


def task_dicts(ws: Workspace, with_smoke: bool = True, features: list[str] | None = None) -> list[dict[str, Any]]:
    """The group task of each step, then one task per feature and step (every feature's, or ``features``')."""
    steps = ORDER if with_smoke else [s for s in ORDER if s != "smoke"]
    tasks: list[dict[str, Any]] = [{"basename": s, "name": None, "doc": SUMMARIES[s]} for s in steps]
    root = str(ws.root)
    chain = {s: doit_dep(s) if s != "smoke" else None for s in ORDER}
    before_evaluation = [u for u in ORDER[: ORDER.index("evaluate")] if u != "smoke"]
    for feature in ws.features() if features is None else features:
        made = artifacts(ws, feature)
        brief = f"plans/{feature}/brief.md"
        for step in steps:
            task: dict[str, Any] = {
                "basename": step,
                "name": feature,
                "actions": [(run_step, [root, feature, step])],
                "uptodate": [LockUpToDate(ws.root, feature, step)],
                "targets": made[step],
                "doc": f"{SUMMARIES[step]} ({feature})",
                "verbosity": 1,
            }
            dep = chain[step]
            if dep:
                task["task_dep"] = [f"{dep}:{feature}"]
            reads = READS.get(step)
            if reads is not None:
                task["file_dep"] = [f"plans/{feature}/{name}" for name in reads]
                if step == "code_review":
                    task["file_dep"].append(f"scripts/smoke/{feature}.sh")
            elif step == "evaluate":
                task["file_dep"] = [brief, *(p for s in before_evaluation for p in made[s])]
            tasks.append(task)
    return tasks


# The upstream artifacts each step reads, as its doit file_dep (the evaluation reads them all). Ordering
# comes from task_dep; this is what `doit info` shows and what a `doit <artifact>` follows.
READS = {
    "plan": ("brief.md",),
    "plan_review": ("brief.md", "plan.md", "validation.md"),
    "red_team": ("brief.md", "plan.md", "validation.md"),
    "implement": ("plan.md", "validation.md"),
    "code_review": ("plan.md", "validation.md", "deviations.md"),
    "deploy_review": ("plan.md",),
}


def _drop_truncated_db(path: Path) -> None:
    """doit rewrites its json database in place; a run killed mid-write leaves it cut short.

    The database is only a cache here (the locks are the truth), so a damaged
    one is removed rather than crashing every later run.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(-1, 2)
            if fh.read(1) == b"}":
                return
    except FileNotFoundError:
        return
    except OSError:
        pass  # empty file: seek before the start
    path.unlink(missing_ok=True)


def merged_config(theirs: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The user's DOIT_CONFIG with what devloop needs added; each key devloop had to change is said once.

    Default tasks are joined (theirs first). devloop's reporter, file checker
    and database replace the user's (its reporter passes their tasks' output
    through as doit's own would; the checker checks their files as doit's
    default does); any other key of theirs is kept as it is.
    """
    out = dict(theirs)
    for key, value in ours.items():
        if key == "default_tasks" and key in theirs:
            out[key] = list(dict.fromkeys([*theirs[key], *value]))
        elif key in ("verbosity", "backend") and key in theirs:
            continue  # theirs stands
        else:
            if key in theirs and theirs[key] != value:
                print(
                    f"devloop: DOIT_CONFIG[{key!r}] is set by devloop (it needs its own); yours is not used",
                    file=sys.stderr,
                )
            out[key] = value
    return out


def setup(namespace: dict[str, Any]) -> None:
    """Called from a workspace's dodo.py: define DOIT_CONFIG and the loop's tasks."""
    from devloop.loop.reporter import DevloopReporter  # lazy: off the path of a no-op doit and devloop --help
    from devloop.runtime import interrupts  # lazy: off the path of a no-op doit and devloop --help

    # lazy: off the path of a no-op doit and devloop --help
    from devloop.runtime.errors import ConfigError, DevloopError

    interrupts.install()
    root = Path(namespace.get("__file__") or ".").resolve().parent
    ws = _workspace(root)
    try:
        if os.environ.get("DEVLOOP_CALL_ID"):  # started by an agent: wslock refuses (imported only then, 2 ms)
            from devloop.runtime import wslock

            wslock.refuse_inside_step()
        if not _config_proven(ws):
            ws.config_view  # noqa: B018 - a broken devloop.yaml is reported before any file is touched
    except ConfigError as exc:
        _without_config(namespace, ws, exc)
        return
    except DevloopError as exc:
        print(f"devloop: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    ws.ensure_state_dir()  # doit crashes on save when dep_file's folder is missing
    ROOT[:] = [str(ws.root)]
    _drop_truncated_db(ws.state / "doit.db")
    ours = {
        "default_tasks": list(DEFAULT),
        "reporter": DevloopReporter,
        "check_file_uptodate": LockFileChecker,
        "dep_file": str(ws.state / "doit.db"),
        "backend": "json",
        "verbosity": 1,
    }
    config = namespace["DOIT_CONFIG"] = merged_config(dict(namespace.get("DOIT_CONFIG") or {}), ours)
    db = config["dep_file"]
    if config.get("backend") == "json" and _may_be_fast(command_line()):
        config["dep_file"] = db + UNREAD  # doit opens an empty database; the real one is read only if needed
    # the memo is written once, by the process that judged (never by a forked doit worker)
    atexit.register(lambda: os.getpid() == _MAIN_PID and ws.verdicts.save())

    def task_devloop() -> Any:
        """The development loop, one sub-task per feature and step."""
        argv = command_line()
        found = fast_path(ws, argv, namespace)
        if found is not None and not found.stale:  # every step proven up to date: doit gets the group tasks only
            FAST["settled"] = found.settled
            _keep_database()
            if os.environ.get("DEVLOOP_FAST_PATH") == "trace":
                files = (
                    f"; {COUNTS['proof']} features by their proof, {COUNTS['read']} files hashed,"
                    f" {COUNTS['git']} proven by git's index"
                )
                print(f"devloop: fast path ({found.settled} steps proven up to date{files})", file=sys.stderr)
            yield from ({"basename": s, "name": None, "doc": SUMMARIES[s]} for s in ORDER if s != "smoke")
            return
        try:
            ws.config_view  # noqa: B018 - proven valid when setup skipped it, unless devloop.yaml changed since
        except ConfigError as exc:
            print(f"devloop: error: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(exc.exit_code) from None
        _read_database(db)
        if found is not None:  # a few features are not up to date: doit gets theirs, the rest is checked after
            FAST["settled"] = found.settled
            if os.environ.get("DEVLOOP_FAST_PATH") == "trace":
                print(
                    f"devloop: partial graph ({', '.join(found.stale)}; {found.settled} steps proven up to date)",
                    file=sys.stderr,
                )
            yield from partial_graph(ws, found)
            return
        yield from task_dicts(ws, argv is None or wants_smoke(argv))

    namespace["task_devloop"] = task_devloop
    _no_source_scan(task_devloop, namespace)


def _config_proven(ws: Workspace) -> bool:
    """devloop.yaml as it is now was accepted by this very devloop: a feature's proof says so (a fresh clone).

    A proof's stamp holds devloop.yaml's content and devloop's own
    (:func:`devloop.provenance.proof.stamp`), and is written only after steps
    ran with that config, so validating it again (importing pydantic, a fifth
    of a fresh clone's no-op) would give the same answer. Only for a run that
    may take the fast path, when the validated config is not cached; the
    config is still validated the moment anything needs it.
    """
    if not _may_be_fast(command_line()) or ws.cached_config_view() is not None:
        return False
    from devloop.provenance import proof  # lazy: only a run without the cached config reads a proof here

    want = proof.stamp(ws.root)
    tried = 0
    with os.scandir(ws.plans) if ws.plans.is_dir() else contextlib.nullcontext([]) as entries:
        for entry in entries:
            try:
                with open(f"{entry.path}/{LOCK_NAME}", "rb") as fh:
                    raw = fh.read()
            except OSError:
                continue
            found = proof.split(raw)[1]
            if found is not None and found.get("stamp") == want:
                return True
            tried += 1
            if tried >= 3:
                break
    return False


def _no_source_scan(creator: Any, namespace: dict[str, Any]) -> None:
    """doit asks ``inspect.getsourcelines`` for each task creator's line, only to order the creators.

    For a function inspect tokenizes its source, and a process's first
    tokenize compiles tokenize's patterns: 2-3 ms of a 100 ms no-op. inspect
    follows ``__wrapped__``; pointed at the dodo module itself, the answer is
    line 0 of dodo.py, read without tokenizing (devloop's tasks are ordered
    first). Only when the namespace is a module with its source beside it.
    """
    module = sys.modules.get(namespace.get("__name__") or "")
    path = getattr(module, "__file__", None)
    if module is not None and path == namespace.get("__file__") and str(path).endswith(".py") and os.path.isfile(path):
        creator.__wrapped__ = module


# Appended to doit's database path while the fast path may answer: no file can be there (its parent is doit.db,
# a file, or nothing), so doit starts from an empty database instead of reading 2 MB at 1000 features.
UNREAD = "/unread-while-the-fast-path-may-answer"


def _may_be_fast(argv: list[str] | None) -> bool:
    """What the fast path asks of the command line alone: a plain run, no task named, harmless options only."""
    if os.environ.get("DEVLOOP_FAST_PATH", "1") == "0" or argv is None:
        return False
    try:
        command, names, given = _doit_words(argv, with_options=True)
    except Exception:  # doit will say what is wrong with its arguments; the full graph meets it
        return False
    return command == "run" and not names and set(given) <= _FAST_OPTIONS


def _read_database(path: str) -> None:
    """The full graph is built after all: doit's dependency manager reads the real database (see ``UNREAD``).

    doit made it from DOIT_CONFIG before any task creator ran, and holds it
    (the command, ``Globals``, later the runner) as one object, so that object
    is made again in place, by doit's own constructor, on the real file.
    """
    from doit.globals import Globals

    manager = Globals.dep_manager
    if manager is None or manager.name != path + UNREAD:
        return
    codec = type(manager.backend.codec)
    manager.__init__(manager.db_class, path, checker_cls=type(manager.checker), codec_cls=codec)


def _keep_database() -> None:
    """On the fast path doit's json database is left as the last full run wrote it: doit does not write it back.

    doit rewrites the whole file at the end of every run (2 MB at 1000
    features), and all it would add here is the group tasks' empty results.
    Only the json backend (devloop's) is skipped: another closes a file
    handle there.
    """
    from doit.dependency import JsonDB
    from doit.globals import Globals

    manager = Globals.dep_manager
    if manager is not None and isinstance(getattr(manager, "backend", None), JsonDB):
        manager._closed = True  # doit's own flag for "already written": close() then writes nothing


# doit run options that change nothing when every step is up to date; any other takes the full graph
_FAST_OPTIONS = {"num_process", "par_type", "verbosity", "seek_file", "dodoFile", "cwdPath", "continue"}


@dataclass
class Found:
    """What the fast path found: the steps it proved up to date, and the features it did not (in order)."""

    settled: int
    stale: list[str]
    steps: int  # a plain run's steps per feature


def fast_path(ws: Workspace, argv: list[str] | None, namespace: dict[str, Any]) -> Found | None:
    """The steps a plain ``doit`` would find up to date, and the features with a step that is not; or None.

    Then doit need not build, judge and skip thousands of tasks that would
    all be skipped: it is given the loop's group tasks only, and the reporter
    says "Everything is up to date (N steps)" as a full run would. Any doubt
    takes the full graph: a command other than a plain run (``list``,
    ``info``, ``forget``, a task or target named, ``smoke``), an option that
    is not harmless here (``-a``, ``-s``, ``--pdb``...), ``always_execute``
    in a doit setting, a task of the user's own, or one step not up to date
    (an edit, a deleted output, a new feature) in more than a few features. A
    step the memo does not vouch for is judged from its lock, as doit's
    ``uptodate`` would (a fresh clone: every step, with git's index proving
    most files unchanged, see :mod:`devloop.provenance.gitclean`).

    When only a few features have a step that is not up to date (an edit),
    doit gets those features' tasks (:func:`partial_graph`) instead of
    thousands it would find up to date; more than :func:`_partial_limit` of
    them, or a command line that allows no partial graph (``-n``,
    ``--continue``), and the search ends at the first: the full graph.

    ``DEVLOOP_FAST_PATH=0`` turns it off; ``trace`` says on stderr when it answers.
    """
    if not _may_be_fast(argv) or _theirs(namespace):
        return None
    if _always_by_setting(ws.root, namespace):
        return None
    features = ws.features()
    limit = _partial_limit(len(features)) if _may_be_partial(argv) else 0
    found = settle(ws, features, limit)
    if found is None:
        return None
    return Found(found[0], found[1], sum(1 for s in ORDER if s != "smoke"))


def settle(ws: Workspace, features: list[str], limit: int) -> tuple[int, list[str]] | None:
    """The steps of ``features`` proven up to date, and the features with one that is not (at most ``limit``).

    None when more than ``limit`` features have a step that is not up to date, or a lock is damaged.
    """
    settled = 0
    stale: list[str] = []
    memo = ws.verdicts
    known: dict[str, Any] = {}  # files just put back: the proofs below need not read them again
    for feature in features:  # first, before anything is judged: features without a lock put back whole
        _restore(ws, feature, known)
    if not memo.entries:  # a fresh clone, a new machine, an upgrade: let git vouch for unchanged files
        gitclean.enable(ws.root)
    changed = memo.changed()  # each file the memo rests on, stat'ed once
    memo.defer()  # what is judged here is kept at the end, each file stat'ed once
    proofs = _Proofs(ws, known)
    try:
        with quiet():  # no step runs here: each file is stat'ed and hashed once
            for feature in features:
                unvouched = [s for s in ORDER if s != "smoke" and not memo.vouches(f"{feature}:{s}", changed)]
                if unvouched and proofs.hold(feature):  # the lock's proof, when the memo lacks an answer
                    unvouched = []
                fresh = 0
                for step in ORDER:
                    if step == "smoke":
                        continue  # a plain doit never builds smoke
                    if step in unvouched:
                        # judged from the lock (and kept in the memo when settled); a step that is not up to
                        # date puts its feature in the graph, whose doit judges it again
                        from devloop.loop.engine import judged  # here: a no-op the memo proves never loads the steps

                        # lazy: off the path of a no-op doit and devloop --help
                        from devloop.runtime.errors import DevloopError

                        try:
                            if not judged(ws, feature, step).fresh:
                                break
                        except DevloopError:
                            return None  # a damaged lock: the step reports it
                    fresh += 1
                else:
                    settled += fresh
                    continue
                stale.append(feature)
                if len(stale) > limit:
                    return None
    finally:
        memo.flush()
    return settled, stale


def _restore(ws: Workspace, feature: str, known: dict[str, Any]) -> bool:
    """A feature without a lock put back whole from its snapshot in the answer cache (devloop.loop.snapshots)."""
    if os.path.lexists(f"{ws.root}/plans/{feature}/{LOCK_NAME}"):
        return False
    if os.environ.get("DEVLOOP_NO_CACHE", "") not in ("", "0"):  # `devloop run --no-cache`: every call is asked
        return False
    from devloop.loop import snapshots  # lazy: only a feature without a lock looks for its snapshot
    from devloop.runtime import wslock  # lazy: only a feature without a lock looks for its snapshot
    from devloop.runtime.errors import DevloopError  # lazy: only a feature without a lock looks for its snapshot

    try:
        ws.config_view  # noqa: B018 - the cache's settings; a broken devloop.yaml is reported by the full graph
        wslock.acquire(ws.state)  # files are written: this run holds the workspace from here on
        calls = snapshots.restore(ws, feature, known)
    except DevloopError:
        return False  # another run holds the workspace, or devloop.yaml is broken: the full graph says so
    except Exception as exc:  # a fault here must not stop a run that can restore call by call
        print(f"devloop: {feature} not put back whole ({type(exc).__name__}: {exc})", file=sys.stderr)
        return False
    if calls:
        FAST["restored"] = FAST.get("restored", 0) + 1
        FAST["restored calls"] = FAST.get("restored calls", 0) + calls
    return bool(calls)


def _partial_limit(features: int) -> int:
    """How many features may be out of date for a partial graph: beyond a quarter, the full graph costs little more."""
    return max(8, features // 4)


def _may_be_partial(argv: list[str] | None) -> bool:
    """A partial graph, then a check of the rest, is what doit would do only for a run in one process that
    stops at the first failure, as a plain run does (``-n``, ``-P`` and ``--continue`` take the full graph)."""
    if argv is None or os.environ.get("DEVLOOP_FAST_PATH", "1") == "whole":
        return False
    try:
        given = _doit_words(argv, with_options=True)[2]
    except Exception:  # doit will say what is wrong with its arguments
        return False
    return set(given) <= _PARTIAL_OPTIONS


_PARTIAL_OPTIONS = {"verbosity", "seek_file", "dodoFile", "cwdPath"}
REST = "_devloop_rest"  # the task that checks, after a partial graph ran, the features it left out


def partial_graph(ws: Workspace, found: Found) -> Any:
    """The tasks of the features not up to date, and one that checks the others once those ran.

    doit runs the steps of all features in step order (every plan, then
    every review...), so an implementer of one feature runs before another
    feature's code review is judged, and that review is stale if the
    implementer wrote what it read. Here the other features are judged again
    after the graph's features ran (doit's delayed task creation, with the
    same task names and order), and those no longer up to date are run then,
    and so on until none is.
    """
    from doit.task import DelayedLoader, Task

    for d in task_dicts(ws, False, found.stale):
        if d["basename"] == DEFAULT[-1] and d["name"] is None:
            d["task_dep"] = [REST]  # the last group a plain run selects waits for the check
        yield d
    last = [f"{DEFAULT[-1]}:{f}" for f in found.stale]
    yield Task(REST, None, loader=DelayedLoader(partial(_rest, ws, set(found.stale), found.steps)), task_dep=last)


def _rest(ws: Workspace, done: set[str], steps: int, depth: int = 0) -> Any:
    """doit's delayed creator of :data:`REST`: the tasks of the left-out features no longer up to date."""
    from doit.task import DelayedLoader, Task, dict_to_task

    ws.verdicts.live = True  # steps ran: every file is stat'ed again
    rest = [f for f in ws.features() if f not in done]
    found = settle(ws, rest, len(rest))
    name = REST if not depth else f"{REST}{depth}"
    if found is None:  # a lock damaged meanwhile: every left-out feature goes in, and its step reports it
        found = (0, rest)
    FAST["settled"] = FAST.get("settled", 0) - steps * len(found[1])  # these are counted as doit judges them
    if not found[1]:
        yield Task(name, None)
        return
    for d in task_dicts(ws, False, found[1]):
        if d["name"] is None:
            continue  # the groups ran already; each new task is reached from the check's own task
        base = d.pop("basename")
        d["name"] = f"{base}:{d['name']}"  # as doit names a sub-task: the database and the reporter know it so
        task = dict_to_task(d)
        task.subtask_of = base
        yield task
    last = [f"{DEFAULT[-1]}:{f}" for f in found[1]]
    more = f"{REST}{depth + 1}"
    creator = partial(_rest, ws, done | set(found[1]), steps, depth + 1)
    yield Task(more, None, loader=DelayedLoader(creator), task_dep=last)
    yield Task(name, None, task_dep=[*last, more])


class _Proofs:
    """The fast path's second witness: a feature's proof line (:mod:`devloop.provenance.proof`).

    Asked only for a feature the verdict memo does not vouch for in full. In a
    fresh clone (an empty memo) git's index proves files clean; otherwise the
    few files of the feature are read. The answers are kept in the memo, as a
    judged step's are.
    """

    def __init__(self, ws: Workspace, known: dict[str, Any] | None = None) -> None:
        from devloop.provenance.hashing import RACY_NS  # lazy: off the path of a no-op the memo proves
        from devloop.provenance.verdicts import STARTED_NS  # lazy: off the path of a no-op the memo proves

        self.ws = ws
        self.known = known  # files put back whole by this settle: their stat key and blob id (proof.Checker)
        self.checker: Any = None
        self.limit = STARTED_NS - RACY_NS  # a file changed since is too new for the memo to keep (its rule 3)

    def hold(self, feature: str) -> bool:
        """Whether ``feature``'s proof holds now (its answers are then kept in the memo)."""
        from devloop.provenance import proof  # lazy: off the path of a no-op doit and devloop --help
        from devloop.provenance.hashing import OBSERVED, stat_key  # lazy: off the path of a no-op the memo proves
        from devloop.provenance.staleness import SETTLED  # lazy: off the path of a no-op the memo proves

        memo = self.ws.verdicts

        lock = f"{self.ws.root}/plans/{feature}/{LOCK_NAME}"
        lock_key = stat_key(lock)  # noted before the read: the memo keeps nothing if it changes before it is kept
        try:
            with open(lock, "rb") as fh:
                raw = fh.read()
        except OSError:
            return False
        if self.checker is None:
            index = gitclean.current(self.ws.root) if not memo.entries else None
            self.checker = proof.Checker(self.ws.root, index, self.known)
        held = self.checker.holds(raw)
        if held is None:
            return False
        answers, files = held
        if set(answers) != {s for s in ORDER if s != "smoke"}:
            return False
        if not all(isinstance(a, list) and len(a) == 2 and a[0] in SETTLED for a in answers.values()):
            return False
        COUNTS["proof"] += 1
        keys = [lock_key, *self.checker.seen.values()]
        if memo.keeps and all(k is None or max(k[1], k[2]) < self.limit for k in keys):  # else nothing is kept
            OBSERVED.update(self.checker.seen)
            deps = [f"plans/{feature}/{LOCK_NAME}", *files]
            memo.record_each({f"{feature}:{step}": answer for step, answer in answers.items()}, deps)
        return True


def _theirs(namespace: dict[str, Any]) -> bool:
    """The dodo.py defines tasks of its own (doit's ``task_*`` functions or objects with ``create_doit_tasks``)."""
    for key, value in list(namespace.items()):
        if key.startswith("task_") and key != "task_devloop" and callable(value):
            return True
        if not isinstance(value, type) and hasattr(value, "create_doit_tasks"):
            return True
    config = namespace.get("DOIT_CONFIG") or {}
    return any(t not in DEFAULT for t in config.get("default_tasks") or ())


def _always_by_setting(root: Path, namespace: dict[str, Any]) -> bool:
    """``always_execute`` (or any run setting beyond the harmless ones) in DOIT_CONFIG, doit.cfg or pyproject."""
    config = namespace.get("DOIT_CONFIG") or {}
    if config.get("always_execute") or config.get("always") or config.get("single") or config.get("pdb"):
        return True
    for name in ("doit.cfg", "pyproject.toml"):
        try:
            text = (root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if name == "pyproject.toml" and "tool.doit" not in text:
            continue
        if any(word in text for word in ("always", "single", "pdb")):
            return True
    return False


# doit's commands that neither run a task nor write doit's database: with a broken devloop.yaml they list the
# user's tasks (and devloop's, which report the error when run) without a file touched.
_READ_ONLY = {"list", "help", "tabcompletion", "dumpdb"}


def asks_devloop(argv: list[str]) -> bool:
    """Whether this doit command names one of devloop's tasks, or runs the default tasks (devloop's among them).

    ``doit``, ``doit plan:x``, ``doit smoke``, ``doit plans/x/plan.md``,
    ``doit info plan:x`` do; ``doit hello`` (a task of the user's),
    ``doit list`` and ``doit help`` do not. When the arguments cannot be
    read, the answer is yes.
    """
    try:
        command, names = _doit_words(argv)
    except Exception:  # doit says what is wrong with its own arguments; here, only caution
        return True
    if command in _READ_ONLY:
        return False
    if not names:
        return command != "info"  # a run (or forget, clean...) of the default tasks; `doit info` alone is doit's error
    return any(_is_ours(name) for name in (names[:1] if command == "info" else names))


def _is_ours(name: str) -> bool:
    """A task or target of devloop's: ``plan``, ``plan:x``, ``plan:*``, ``plans/x/plan.md``, ``scripts/smoke/x.sh``."""
    import fnmatch

    if LockFileChecker.ours(name.removeprefix("./")):
        return True
    base = name.split(":", 1)[0]
    return any(fnmatch.fnmatchcase(step, base) for step in ORDER)


def _doit_words(argv: list[str], with_options: bool = False) -> Any:
    """doit's command and the task names (or targets) given to it, read with doit's own option parser.

    ``with_options`` adds a third item: the names of the options given.
    """
    from doit.cmd_base import DodoTaskLoader, DoitCmdBase
    from doit.cmdparse import CmdOption, CmdParse
    from doit.doit_cmd import DoitMain

    commands = {cls.get_name(): cls for cls in DoitMain.DOIT_CMDS}
    command, args = ("run", argv)
    if argv and argv[0] in commands:
        command, args = argv[0], argv[1:]
    cls = commands[command]
    options = tuple(cls.cmd_options)
    if issubclass(cls, DoitCmdBase):
        options = DoitCmdBase.base_options + DodoTaskLoader.cmd_options + options
    params, positional = CmdParse([CmdOption(o) for o in options]).parse_only(args)
    words = [a for a in positional if not a.startswith("-") and "=" not in a]
    if with_options:
        return command, words, [k for k in dict(params) if k != "codec_cls"] + [a for a in positional if "=" in a]
    return command, words


def _without_config(namespace: dict[str, Any], ws: Workspace, exc: DevloopError) -> None:
    """devloop.yaml is invalid: the user's own tasks list and run; devloop's report the error (exit 3).

    A command that names one of devloop's tasks, or runs the default ones,
    stops here with the error, before any file is touched. Any other (``doit
    hello``, ``doit list``) goes on with devloop's tasks in place, each
    refusing with the same error should it be reached (a task of the user's
    that depends on one); the state folder (doit's database) is made only
    for a command that writes that database.
    """
    argv = command_line()
    if argv is None or asks_devloop(argv):
        print(f"devloop: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(exc.exit_code)
    print(f"devloop: error: {exc}", file=sys.stderr)
    print("devloop: devloop's tasks are off until devloop.yaml is fixed; your own tasks run", file=sys.stderr)
    if _doit_words(argv)[0] not in (*_READ_ONLY, "info"):
        ws.ensure_state_dir()  # doit saves its database there after running the user's tasks
        _drop_truncated_db(ws.state / "doit.db")
    ours = {
        "default_tasks": list(DEFAULT),
        "check_file_uptodate": LockFileChecker,
        "dep_file": str(ws.state / "doit.db"),
        "backend": "json",
    }
    namespace["DOIT_CONFIG"] = merged_config(dict(namespace.get("DOIT_CONFIG") or {}), ours)
    refuse = partial(_stop, exc)

    def task_devloop() -> Any:
        """The development loop: off while devloop.yaml is invalid."""
        for step in ORDER:
            yield {"basename": step, "name": None, "doc": f"{SUMMARIES[step]} (off: devloop.yaml is invalid)"}
            for feature in ws.features():
                yield {
                    "basename": step,
                    "name": feature,
                    "actions": [refuse],
                    "uptodate": [refuse],
                    "doc": f"{SUMMARIES[step]} ({feature})",
                }

    namespace["task_devloop"] = task_devloop
