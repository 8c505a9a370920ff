"""A wheel built from the repo carries the prompt templates and works without the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_templates_and_uses_them(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    wheel = next(out.glob("devloop-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for template in ("plan.md.j2", "plan_review.md.j2", "implement.md.j2", "rubric.md", "devloop.yaml"):
        assert f"devloop/templates/{template}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "from pathlib import Path\n"
        "from devloop.config.workspace import Workspace, packaged_templates_dir\n"
        "from devloop.steps.prompts import render\n"
        "d = packaged_templates_dir()\n"
        f"assert d.is_relative_to(Path({str(site)!r})), d\n"
        "ws = Workspace(Path('.'))\n"
        "text = render(ws, 'plan.md.j2', feature='x', brief='B', plan_path='p', validation_path='v', triage='')\n"
        "assert 'planner' in text and 'B' in text\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def test_a_workspace_template_overrides_the_packaged_one(tmp_path: Path) -> None:
    from devloop.config.workspace import Workspace
    from devloop.steps.prompts import render, template_hash

    ws = Workspace(tmp_path)
    before = template_hash(ws, ("plan.md.j2",))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "plan.md.j2").write_text("Custom plan prompt for {{ feature }}")
    assert render(ws, "plan.md.j2", feature="x", brief="", plan_path="", validation_path="", triage="") == (
        "Custom plan prompt for x"
    )
    assert template_hash(Workspace(tmp_path), ("plan.md.j2",)) != before  # the next run sees the change
