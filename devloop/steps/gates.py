"""The local gates (tests, linters) the implementer's code must pass, run confined; each result recorded.

Run by the implement step after each author call and by the code review's
fix rounds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devloop.confine import watch
from devloop.confine.reach import for_author
from devloop.runtime.atomic import atomic_write_text
from devloop.runtime.envs import allow_listed
from devloop.runtime.procs import last_line
from devloop.runtime.redact import redact

if TYPE_CHECKING:
    from devloop.steps.run import StepRun


def gate_commands(policy: Any) -> list[tuple[str, list[str], list[str]]]:
    """Each configured gate as (name, argv, the variables it may receive): an argv list, or {argv, name, env_allow}.

    An unnamed gate is called after its program (``pytest``, ``ruff``), made
    safe as a file name and numbered when two would share a name.
    """
    out: list[tuple[str, list[str], list[str]]] = []
    taken = {g.name for g in policy.gates if not isinstance(g, list) and g.name}
    for gate in policy.gates:
        argv, extra, name = (
            (list(gate), [], None) if isinstance(gate, list) else (list(gate.argv), gate.env_allow, gate.name)
        )
        if not name:
            stem = re.sub(r"[^a-z0-9_-]+", "-", Path(argv[0]).name.lower()).strip("-_")[:60] or "gate"
            name, n = stem, 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}"
        taken.add(name)
        out.append((name, argv, [*policy.env_allow, *extra]))
    return out


TAIL_LINES = 30


def run_gates(run: StepRun, label: str = "implement") -> list[dict[str, Any]]:
    """Run the configured local gates (tests, linters) in the workspace; record each result.

    Each gate's whole output is stored (redacted) in
    ``runs/<feature>/gates/<time>-<label>-<gate>.log``; the result keeps its
    last 30 lines, which prompts and reviews.md show.
    """
    import datetime as dt

    policy = run.ws.config.steps.implement
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = []
    reach = for_author(run.ws, run.feature, "implementer", [], owner="the gate")  # it runs the implementer's code
    for gate, argv, names in gate_commands(policy):
        env = allow_listed(names)  # the implementer's code never sees devloop's secrets unless allowed
        command = " ".join(argv)
        entry: dict[str, Any] = {"gate": gate, "command": command}
        try:
            box = watch.for_workspace(run.ws, reach, run.ws.history_dir(run.feature))
            done, seen = watch.run(box, list(argv), run.ws.root, env, policy.gate_timeout)
        except (OSError, watch.SandboxUnavailable) as exc:
            results.append({**entry, "passed": False, "result": f"cannot start: {exc}", "tail": ""})
            continue
        if seen.refused:
            why = redact(seen.why(f"the gate `{command}`"))
            results.append({**entry, "passed": False, "result": why, "tail": ""})
            continue
        output = (done.stdout + (b"\n" if done.stdout and done.stderr else b"") + done.stderr).decode(
            "utf-8", "replace"
        )
        if done.timed_out:
            result = f"timed out after {policy.gate_timeout:g}s"
        else:
            tail = last_line(done.stdout + b"\n" + done.stderr)
            result = f"exit {done.returncode}" + (f": {tail}" if tail else "")
        log = f"runs/{run.feature}/gates/{stamp}-{label}-{gate}.log"
        text = f"$ {command}\n{output}{'' if output.endswith(chr(10)) or not output else chr(10)}# {result}\n"
        atomic_write_text(run.ws.confined(log), redact(text), fsync=False)
        entry.update(passed=done.returncode == 0 and not done.timed_out, result=redact(result), log=log)
        entry["tail"] = redact(_tail(output))
        results.append(entry)
    return results


def _tail(output: str, lines: int = TAIL_LINES, width: int = 300) -> str:
    kept = output.rstrip("\n").splitlines()[-lines:]
    return "\n".join(line if len(line) <= width else line[: width - 3] + "..." for line in kept)
