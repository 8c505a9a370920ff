"""`doit info <step>` on a step that is not up to date shows devloop's reason, in `devloop why`'s words."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import WS


def _why_lines(ws: WS, step: str) -> tuple[str, list[str]]:
    """The label and reasons `devloop why` prints for one step."""
    r = ws.devloop("why", "a")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{step}: "))
    reasons = []
    for line in lines[start + 1 :]:
        if not line.startswith("  - "):
            break
        reasons.append(line[4:])
    return lines[start].split(": ", 1)[1], reasons


def test_info_on_a_stale_step_says_why(ws: WS) -> None:
    ws.add_feature("a")
    assert ws.doit("plan:a").returncode == 0
    up = ws.doit("info", "plan:a")
    assert up.returncode == 0 and "status     : up-to-date" in up.stdout, up.stdout + up.stderr

    with open(ws.root / "plans/a/brief.md", "a") as fh:
        fh.write("\nAlso handle late files.\n")
    label, reasons = _why_lines(ws, "plan")
    assert label == "stale" and reasons and "brief.md" in " ".join(reasons)
    r = ws.doit("info", "plan:a")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "LockUpToDate object" not in r.stdout
    assert f"devloop: {label} - {'; '.join(reasons)}" in r.stdout


def test_info_on_a_waiting_step_says_what_to_write(ws: WS) -> None:
    ws.config(planner="me")
    ws.add_feature("a", script=False)
    assert ws.doit("plan:a").returncode == 0  # the prompt is written; plan.md is the person's to write
    label, reasons = _why_lines(ws, "plan")
    r = ws.doit("info", "plan:a")
    assert "LockUpToDate object" not in r.stdout
    assert f"devloop: {label} - {'; '.join(reasons)}" in r.stdout and "plans/a/plan.md" in r.stdout


def test_doit_finds_the_configure_task_hook_instead_of_raising_for_it(tmp_path: Path) -> None:
    """doit probes each uptodate item with hasattr(item, 'configure_task'); a miss costs a caught exception."""
    from doit.task import Task

    from devloop.loop.tasks import LockUpToDate

    seen: list[str] = []

    class Watched(LockUpToDate):
        def configure_task(self, task: Task) -> None:
            seen.append(task.name)
            super().configure_task(task)  # the hook devloop defines (an AttributeError without it)

    probe = Watched(tmp_path, "a", "plan")
    task = Task("plan:a", [], uptodate=[probe])
    assert seen == ["plan:a"] and task.uptodate[0][0] is probe
    assert task.task_dep == [] and task.setup_tasks == []  # the hook adds nothing to the task
