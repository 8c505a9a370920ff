"""Run folders: one scheme that cannot collide across features or within a second; old names still read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from devloop.after_deploy.runs import new_run_dir, run_dirs
from devloop.config.workspace import Workspace

AT = dt.datetime(2026, 1, 2, 3, 4, 5)


def workspace(root: Path, *features: str) -> Workspace:
    for f in features:
        (root / "plans" / f).mkdir(parents=True)
        (root / "plans" / f / "brief.md").write_text(f"# {f}\n")
    return Workspace(root)


def test_runs_in_one_second_are_numbered_and_all_read_in_order(tmp_path: Path) -> None:
    ws = workspace(tmp_path, "a", "a-2")
    made = [new_run_dir(ws, "a", AT) for _ in range(3)]
    assert made == ["runs/a/20260102-030405", "runs/a/20260102-030405-2", "runs/a/20260102-030405-3"]
    assert new_run_dir(ws, "a-2", AT) == "runs/a-2/20260102-030405"  # a feature named like a suffix: its own folder
    assert [ws.rel(p) for p in run_dirs(ws, "a")] == made
    assert [ws.rel(p) for p in run_dirs(ws, "a-2")] == ["runs/a-2/20260102-030405"]


def test_folders_of_the_earlier_scheme_are_still_read_and_never_misattributed(tmp_path: Path) -> None:
    ws = workspace(tmp_path, "alpha", "beta-alpha", "x", "x-2")
    for name in ("20250101-000000-alpha", "20250101-000000-beta-alpha", "20250101-000000-alpha-2"):
        (tmp_path / "runs" / name).mkdir(parents=True)
    (tmp_path / "runs" / "20250101-000001-x-2").mkdir()  # the old scheme: x's second run, or x-2's first?
    new = new_run_dir(ws, "alpha", AT)
    assert [p.name for p in run_dirs(ws, "alpha")] == [
        "20250101-000000-alpha",
        "20250101-000000-alpha-2",
        Path(new).name,
    ]
    assert [p.name for p in run_dirs(ws, "beta-alpha")] == ["20250101-000000-beta-alpha"]
    assert [p.name for p in run_dirs(ws, "x-2")] == ["20250101-000001-x-2"]  # x-2 exists: it is x-2's
    assert run_dirs(ws, "x") == []


def test_the_gate_logs_folder_is_not_a_run(tmp_path: Path) -> None:
    ws = workspace(tmp_path, "a")
    (tmp_path / "runs" / "a" / "gates").mkdir(parents=True)
    assert run_dirs(ws, "a") == []
