#!/usr/bin/env python3
"""A scripted agent that plays every role of the loop, answering differently on every call.

Unlike fake_agent.py (a fixed script of answers), this one composes a
plausible answer from the role it is asked to play (DEVLOOP_STEP,
DEVLOOP_ROLE, DEVLOOP_CALL_ID, the prompt) and a behaviour read from the JSON
file named by LOOP_CONTROL at call time:

  {"modes": {"<step>/<role>": mode, "<step>": mode, "*": mode}, "risk": true,
   "sleep": 30, "route": "code"}

Modes: ``pass`` (a valid, approving answer), ``needs_work`` (a valid answer
asking for changes: REVISE, NEEDS WORK with a P1, a must-fix finding),
``garbage`` (an answer the loop must refuse: unparseable verdicts, a broken
check block, missing files), ``trespass`` (an author that passes but also
writes where no author may: devloop.yaml and the feature's evaluation.md,
both marked TRESPASS), ``slow`` (sleeps ``sleep`` seconds first, then
passes: to be interrupted), ``fail`` (exits 1), ``hold`` (writes
``<hold>/held-<feature>-<step>`` with ``"hold": <folder>`` of the control
file, waits until ``<hold>/go`` exists (at most 60 s), then passes: a test
edits files while the agent works), ``keep_code`` (an implementer that only
re-saves deviations.md, leaving the code as it is). Every answer carries a
counter, so no two answers are the same.

Keys of ``modes`` may also name a feature: ``"<feature>/<step>"``.
LOOP_LOG gets one JSON line per call; LOOP_PROMPTS, a folder, gets each
prompt as ``<n>-<feature>-<step>-<call>.txt``; LOOP_PIDS is a folder where the
agent keeps a file named after its pid while it runs (tests look for survivors).
``make_answer`` is importable: tests use it to play a manual role.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path


def control() -> dict:
    path = os.environ.get("LOOP_CONTROL")
    try:
        return json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def mode_for(ctl: dict, feature: str, step: str, role: str) -> str:
    modes = ctl.get("modes") or {}
    keys = (f"{feature}/{step}/{role}", f"{feature}/{step}", f"{step}/{role}", step, "*")
    return next((modes[k] for k in keys if k in modes), "pass")


def counter() -> int:
    log = os.environ.get("LOOP_LOG")
    if not log or not Path(log).exists():
        return 1
    return len(Path(log).read_text().splitlines()) + 1


def validation(feature: str, n: int, ids: list[str], broken: bool = False) -> str:
    refs = "".join(f"- {i}: covered by the checks below (answer {n})\n" for i in ids)
    block = (
        "```yaml devloop\nsmoke:\n  - name: live\n    expect: exit_code == 0\n```\n"
        if broken
        else (
            "```yaml devloop\n"
            "smoke:\n"
            "  - name: live\n"
            f'    command: {{argv: [sh, -c, "test ! -f .smoke-fail-{feature}"]}}\n'
            "    expect: exit_code == 0\n"
            "rollback_triggers:\n"
            "  - name: errors\n"
            f'    command: {{argv: [sh, -c, "test -f .fire-{feature}"]}}\n'
            "    fire_when: exit_code == 0\n"
            "monitoring: {duration: 1s, interval: 1s}\n"
            "```\n"
        )
    )
    return f"# Validation of {feature} (answer {n})\n\n{refs}\n{block}"


def plan(feature: str, n: int, risk: bool) -> str:
    front = "---\nrisk: [iam]\n---\n" if risk else ""
    return f"{front}# Plan for {feature} (answer {n})\n\nGrant the job a role; load the data daily.\n"


def make_answer(
    step: str, role: str, call_id: str, feature: str, prompt: str, mode: str, n: int, risk: bool, route: str = "code"
) -> tuple[str, dict[str, str]]:
    """(text answer, files to write) for one call."""
    p = f"plans/{feature}"
    bad = mode == "garbage"
    if role == "planner":
        ids = sorted(set(re.findall(r"\bRT-\d+\b", prompt))) if "pass2" in call_id else []
        files = {
            f"{p}/validation.md": validation(feature, n, [] if bad else ids, broken=bad and "pass2" not in call_id)
        }
        if call_id == "plan" or "revise" in call_id:
            files[f"{p}/plan.md"] = plan(feature, n, risk)
        return "", files
    if role == "implementer":
        if mode == "keep_code":
            return "", {f"{p}/deviations.md": f"No deviations. (answer {n}, the code stays as it is)\n"}
        if bad:
            return "", {f"src/{feature.replace('-', '_')}.py": f"print({n})\n"}
        return "", {
            f"src/{feature.replace('-', '_')}.py": f'"""{feature}, answer {n}."""\nprint("hello")\n',
            f"{p}/deviations.md": f"No deviations. (answer {n})\n",
            f"scripts/smoke/{feature}.sh": f"#!/bin/sh\n# answer {n}\ntest ! -f .smoke-fail-{feature}\n",
        }
    if bad:
        return f"Hmm, answer {n}: it depends; I would rather not commit to anything.\n", {}
    if role == "plan_reviewer":
        if mode == "needs_work":
            return f"Answer {n}.\n- [P1] {p}/plan.md:1 — the rollback is not described\nVERDICT: REVISE\n", {}
        return f"Answer {n}: clear and bounded.\nVERDICT: APPROVE\n", {}
    if role == "red_team":
        grade = "must-fix" if mode == "needs_work" else "should-fix"
        return (
            f"Answer {n}.\n- [{grade}] Service account role too wide — a binding typo grants owner (seen {n})\n"
            "- [acceptable] Slow first run — cold start once\n",
            {},
        )
    if role == "reviewers":
        if mode == "needs_work":
            src = f"src/{feature.replace('-', '_')}.py"
            return f"Answer {n}.\n- [P1] {src}:1 — prints instead of logging\nVOTE: NEEDS WORK\n", {}
        return f"Answer {n}: tests pass, nothing to add.\nVOTE: PRODUCTION GRADE\n", {}
    if role == "verifier":
        claims = sorted({int(c) for c in re.findall(r"^## Claim (\d+):", prompt, re.M)}) or [1]
        return "".join(f"CLAIM {c}: CONFIRMED\n" for c in claims) + f"(answer {n})\n", {}
    if role == "gcp_reviewer":
        return f"Answer {n}.\nVOTE: PRODUCTION GRADE\n", {}
    if role == "triage":
        return f"Answer {n}: the check failed after the deploy.\nROUTE: {route}\n", {}
    if role == "evaluator":
        return (
            f"Answer {n}.\n\n```yaml\nscores:\n  plan_quality: 4\n  review_usefulness: 5\n"
            "  implementation_drift: 4\n  trigger_correctness: 4\n```\n",
            {},
        )
    return f"Answer {n}: no idea what role {role} is.\n", {}


def main() -> int:
    env = os.environ
    prompt = sys.stdin.read()
    ctl = control()
    step, role = env.get("DEVLOOP_STEP", ""), env.get("DEVLOOP_ROLE", "")
    feature, call_id = env.get("DEVLOOP_FEATURE", ""), env.get("DEVLOOP_CALL_ID", "")
    mode = mode_for(ctl, feature, step, role)
    n = counter()
    if env.get("LOOP_PROMPTS"):
        folder = Path(env["LOOP_PROMPTS"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n}-{feature}-{step}-{call_id}.txt").write_text(prompt, encoding="utf-8")
    pids = env.get("LOOP_PIDS")
    mark = Path(pids) / str(os.getpid()) if pids else None
    if mark is not None:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(f"{feature} {step} {call_id}\n")
    log = env.get("LOOP_LOG")
    if log:
        entry = {"n": n, "feature": feature, "step": step, "role": role, "call": call_id, "mode": mode}
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
    try:
        if mode == "slow":
            time.sleep(float(ctl.get("sleep", 30)))
        if mode == "hold":
            hold = Path(ctl["hold"])
            (hold / f"held-{feature}-{step}").write_text(f"{call_id}\n")
            deadline = time.monotonic() + 60
            while not (hold / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        if mode == "fail":
            print(f"loop_agent: failing on purpose (answer {n})", file=sys.stderr)
            return 1
        text, files = make_answer(
            step, role, call_id, feature, prompt, mode, n, bool(ctl.get("risk")), ctl.get("route", "code")
        )
        if mode == "trespass" and role in ("planner", "implementer"):
            config = Path("devloop.yaml")
            files["devloop.yaml"] = config.read_text(encoding="utf-8") + f"# TRESPASS {n}\n"
            files[f"plans/{feature}/evaluation.md"] = f"TRESPASS {n}: all scores 5\n"
        for rel, body in files.items():
            path = Path(rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            if rel.endswith(".sh"):
                path.chmod(0o755)
        sys.stdout.write(text)
        return 0
    finally:
        if mark is not None:
            mark.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
