"""doit reporter: after each step exactly three lines, ``Step:``, ``Artifact:``, ``Next:``.

Up-to-date steps stay silent; steps blocked behind a waiting one stay silent
too (the waiting step already said what to do next). Waiting and gates are
successes for doit, so they never read as crashes. A step is named the way
doit names its task (``plan_review:daily-ingest``), so it can be typed back;
run from a subfolder (``doit -k``), paths and commands are said from there
(:mod:`devloop.runtime.standpoint`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from devloop.loop.doitrun import FAST, NOT_DEPLOYED, ROOT, STORE, command_line, forget_outcome
from devloop.runtime.redact import RedactingStream
from devloop.runtime.standpoint import from_here, person_dir
from devloop.runtime.words import count
from devloop.steps.order import SUMMARIES


class DevloopReporter:
    desc = "Step/Artifact/Next after each devloop step"

    def __init__(self, outstream: Any, options: dict[str, Any]) -> None:
        from doit.reporter import ConsoleReporter

        self.out = RedactingStream(outstream)  # an agent's answer quoted in a detail never shows a secret
        self.plain = outstream  # for devloop's fixed sentences, which hold no value from outside
        self.console = ConsoleReporter(outstream, options)  # the user's own tasks print as doit prints them
        self.theirs = 0  # the user's tasks seen this run
        self.printed = 0
        self.uptodate = 0
        self.waiting: list[str] = []
        self.ran: set[str] = set()  # features a step ran for: each gets its proof if now up to date
        self.errors: list[str] = []
        self.stopped: set[str] = set()  # features whose stop was already reported
        from pathlib import Path

        self.root = Path.cwd()  # doit runs from the folder of dodo.py: the workspace root
        self.here = person_dir(self.root, command_line())

    def _say(self, text: str) -> None:
        self.out.write(from_here(text, self.root, self.here))

    def _three(self, o: dict[str, Any]) -> None:
        kind = o["kind"]
        artifact = o.get("artifact") or "(none)"
        step = f"{o['step']}:{o['feature']}"
        if kind == "waiting":
            step += " (waiting for a human)"
        elif kind == "blocked":
            step += " (blocked)"
        elif kind == "gate":
            step += " (waiting for approval)"
        elif kind == "refused":
            step += f" (refused: {o.get('detail')})"
        elif kind == "failed" or kind == "error":
            step += f" FAILED: {o.get('detail')}"
        elif kind == "changed":
            step += f" (ran, but {o.get('detail')})"
        elif kind == "adopted":
            step += " (hand edit adopted, no agent called)"
        elif o.get("detail"):
            step += f" ({o['detail']})"
        if o.get("restored"):
            asked = f"{count(o.get('calls') or 0, 'agent call')} made" if o.get("calls") else "no agent called"
            step += f" [restored from cache: {count(o['restored'], 'answer')}, {asked}]"
        self._say(f"Step: {step}\nArtifact: {artifact}\nNext: {o.get('next') or '-'}\n")
        self.printed += 1

    # -- doit hooks ------------------------------------------------------
    def initialize(self, tasks: Any, selected_tasks: Any) -> None:
        pass

    def get_status(self, task: Any) -> None:
        pass

    def execute_task(self, task: Any) -> None:
        if not ours(task):
            self.theirs += 1
            self.console.execute_task(task)

    def add_success(self, task: Any) -> None:
        if not ours(task):
            self.console.add_success(task)
            return
        o = (getattr(task, "values", None) or {}).get("devloop")
        store = STORE.get("deps")
        if not o:
            if store is not None and task.name.startswith("_devloop_rest"):
                store.remove(task.name)  # a partial graph's check: nothing a later run needs to know
            return
        if store is not None:  # read: doit need not keep it (a no-op by the fast path would load it every run)
            forget_outcome(store, task.name)
        if o["kind"] == "uptodate":
            self.uptodate += 1
            return
        self.ran.add(o["feature"])
        if o["kind"] == "blocked" and o["feature"] in self.stopped:
            return
        if o["kind"] == "changed":
            self.stopped.add(o["feature"])  # its later steps are blocked behind it: the Next: here says why
        if o["kind"] in ("waiting", "gate", "blocked"):
            self.waiting.append(f"{o['step']}:{o['feature']}")
            self.stopped.add(o["feature"])
        self._three(o)

    def add_failure(self, task: Any, fail: Any) -> None:
        if not ours(task):
            self.theirs += 1
            self.console.add_failure(task, fail)
            return
        o = getattr(fail, "devloop", None)
        if o:
            self.stopped.add(o["feature"])
            self._three(o)
            return
        name = getattr(task, "name", "?")
        if type(fail).__name__ == "UnmetDependency":
            return  # the dependency's own failure was already reported
        msg = fail.get_msg() if hasattr(fail, "get_msg") else str(fail)
        self.errors.append(name)
        last = msg.strip().splitlines()[-1] if msg.strip() else "see above"
        self._say(f"Step: {name} ERROR\nArtifact: (none)\nNext: {last}\n")
        self.printed += 1

    def skip_uptodate(self, task: Any) -> None:
        if not ours(task):
            self.theirs += 1
            self.console.skip_uptodate(task)
        elif ":" in getattr(task, "name", ""):
            self.uptodate += 1

    def skip_ignore(self, task: Any) -> None:
        if not ours(task):
            self.console.skip_ignore(task)

    def teardown_task(self, task: Any) -> None:
        if not ours(task):
            self.console.teardown_task(task)

    def cleanup_error(self, exception: Any) -> None:
        self.out.write(exception.get_msg())

    def runtime_error(self, msg: str) -> None:
        self.out.write(f"devloop: {msg}\n")

    def complete_run(self) -> None:
        if sys.exc_info()[0] is not None:
            return  # interrupted, or another run holds the workspace: that was already said, in one line
        if self.theirs:
            self.console.complete_run()  # the user's failures, summed up as doit does
            if not self.printed and not self.uptodate and not self.errors:
                return  # only the user's tasks ran: nothing of devloop's to say

        self._prove()
        self.uptodate += FAST.get("settled", 0)  # steps the fast path proved up to date without building them
        if FAST.get("restored"):  # whole features put back from their snapshots (devloop.loop.snapshots)
            self.plain.write(
                f"Restored from the answer cache: {count(FAST['restored'], 'feature')} whole (locks and files as "
                f"first answered, {count(FAST.get('restored calls', 0), 'answer')}); no agent was called for them.\n"
            )
        if NOT_DEPLOYED:
            names = sorted(set(NOT_DEPLOYED))
            f, others = names[0], "; likewise for the others" if len(names) > 1 else ""
            self._say(f"No deploy recorded, nothing to verify: {', '.join(names)}\n")
            self._say(f"Next: devloop deployed {f}  (after you deploy {f}; then doit smoke:{f}{others})\n")
            self.uptodate -= len(NOT_DEPLOYED)
            if self.printed == 0 and self.uptodate <= 0:
                return
        if self.printed == 0 and self.uptodate == 0:
            self.out.write('No features yet. Next: devloop new <feature> "what you want built"\n')
        elif self.printed == 0:  # a count in a fixed sentence: nothing to redact (a no-op scans no environment)
            self.plain.write(f"Everything is up to date ({self.uptodate} steps); no agent was called.\n")
        elif self.waiting:
            self.out.write(f"Waiting on: {', '.join(self.waiting)}\n")

    def _prove(self) -> None:
        """Each feature a step ran for and that is now up to date gets its proof (devloop.loop.proofs).

        ``DEVLOOP_PROOFS=all`` proves every feature (after a devloop upgrade, whose proofs the new
        devloop does not take); ``0`` writes none.
        """
        wanted = os.environ.get("DEVLOOP_PROOFS", "")
        if wanted == "0" or not ROOT or not (self.ran or wanted == "all"):
            return
        from pathlib import Path

        from devloop.loop.proofs import prove_all  # lazy: only a run that ran a step writes proofs

        if wanted != "all":
            prove_all(Path(ROOT[0]), self.ran)
            return
        from devloop.runtime.errors import DevloopError  # lazy: only DEVLOOP_PROOFS=all gets here

        try:
            done, asked = prove_all(Path(ROOT[0]), None)
        except DevloopError as exc:
            self.out.write(f"devloop: no proof written: {exc}\n")
            return
        self.plain.write(f"devloop: {done} of {asked} features proven (their locks end with the proof)\n")


def ours(task: Any) -> bool:
    """One of the loop's tasks (``<step>`` or ``<step>:<feature>``), not one of the user's own."""

    name = str(getattr(task, "name", ""))
    return name.split(":", 1)[0] in SUMMARIES or name.startswith("_devloop_rest")  # a partial graph's check
