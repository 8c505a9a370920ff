"""Turn features x steps into doit tasks whose staleness is judged by the lock.

doit's own database is a per-machine cache: a task with ``file_dep`` and no
state in ``.doit.db`` always runs, which would make a fresh clone call every
agent again. So tasks carry no ``file_dep``; an ``uptodate`` callable asks
``devloop.engine`` (content hashes against ``devloop.lock``), and ``task_dep``
orders the steps of each feature. ``smoke`` depends on no task: ``doit smoke``
verifies deploys and never runs an agent step upstream (it refuses instead).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from devloop.steps.registry import DEFAULT, ORDER, STEPS, doit_dep
from devloop.workspace import Workspace

if TYPE_CHECKING:
    from devloop.errors import DevloopError


class LockUpToDate:
    """doit ``uptodate`` entry: True when the step's lock record matches the workspace."""

    def __init__(self, root: Path, feature: str, step: str) -> None:
        self.root, self.feature, self.step = root, feature, step

    def __call__(self) -> bool:
        from devloop import wslock
        from devloop.engine import step_status
        from devloop.errors import DevloopError

        wslock.watch_forks()  # before doit forks a worker: workers die with this process
        ws = _workspace(self.root)
        try:
            if self.step == "smoke" and not ws.read_lock_shared(self.feature).deploy:
                NOT_DEPLOYED.append(self.feature)  # nothing to verify; the reporter says so once
                return True
            fresh = step_status(ws, self.feature, self.step).fresh
            if not fresh:
                wslock.acquire(ws.state)  # here, in doit's main process, before any worker runs a step
        except DevloopError as exc:
            _stop(exc)
        return fresh


def _stop(exc: DevloopError) -> NoReturn:
    """End the run with one line: a corrupt lock, a busy workspace.

    doit waits for the workers it already started (``doit -n``, for an
    up-to-date group task) before it exits, and they wait for work that never
    comes: so they are stopped here first.
    """
    from devloop import interrupts, wslock
    from devloop.redact import redact

    print(f"devloop: error: {redact(str(exc))}", file=sys.stderr, flush=True)
    interrupts.stop_workers(grace=5.0, gently=wslock.holding())
    raise SystemExit(exc.exit_code) from None


_workspaces: dict[Path, Workspace] = {}
NOT_DEPLOYED: list[str] = []  # features a `doit smoke` skipped: no deploy recorded


def _workspace(root: Path) -> Workspace:
    ws = _workspaces.get(root)
    if ws is None:
        ws = _workspaces[root] = Workspace(root)
    return ws


def run_step(root: str, feature: str, step: str) -> Any:
    """doit action: bring one step up to date; the outcome goes to the reporter as task values."""
    from doit.exceptions import TaskFailed

    from devloop.engine import Outcome, execute
    from devloop.errors import DevloopError

    ws = Workspace(Path(root))  # fresh: never reuse a config or lock read before the lock was taken
    try:
        outcome = execute(ws, feature, step)
    except DevloopError as exc:
        outcome = Outcome("error", feature, step, detail=str(exc), next="doit  (after fixing the cause above)")
    except KeyboardInterrupt:
        from devloop import procs

        procs.stop_all()
        print(
            f"devloop: interrupted {step}:{feature}; its agents were stopped and the call is recorded. Next: doit",
            file=sys.__stderr__,
            flush=True,
        )
        raise SystemExit(130) from None
    if outcome.kind in ("failed", "error", "refused"):
        fail = TaskFailed(f"{feature}:{step}: {outcome.detail}")
        fail.devloop = outcome.as_dict()  # type: ignore[attr-defined]
        return fail
    return {"devloop": outcome.as_dict()}


def task_dicts(ws: Workspace) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = [{"basename": s, "name": None, "doc": STEPS[s].summary} for s in ORDER]
    for feature in ws.features():
        for step in ORDER:
            task: dict[str, Any] = {
                "basename": step,
                "name": feature,
                "actions": [(run_step, [str(ws.root), feature, step])],
                "uptodate": [LockUpToDate(ws.root, feature, step)],
                "doc": f"{STEPS[step].summary} ({feature})",
                "verbosity": 1,
            }
            dep = doit_dep(step) if step != "smoke" else None
            if dep:
                task["task_dep"] = [f"{dep}:{feature}"]
            tasks.append(task)
    return tasks


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


def setup(namespace: dict[str, Any]) -> None:
    """Called from a workspace's dodo.py: define DOIT_CONFIG and the loop's tasks."""
    from devloop import interrupts, wslock
    from devloop.errors import DevloopError
    from devloop.reporter import DevloopReporter

    interrupts.install()
    root = Path(namespace.get("__file__") or ".").resolve().parent
    ws = _workspace(root)
    try:
        wslock.refuse_inside_step()
        ws.config_view  # noqa: B018 - a broken devloop.yaml is reported before any file is touched
    except DevloopError as exc:
        print(f"devloop: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    ws.ensure_state_dir()  # doit crashes on save when dep_file's folder is missing
    _drop_truncated_db(ws.state / "doit.db")
    namespace["DOIT_CONFIG"] = {
        "default_tasks": list(DEFAULT),
        "reporter": DevloopReporter,
        "dep_file": str(ws.state / "doit.db"),
        "backend": "json",
        "verbosity": 1,
    }

    def task_devloop() -> Any:
        """The development loop, one sub-task per feature and step."""
        yield from task_dicts(ws)

    namespace["task_devloop"] = task_devloop
