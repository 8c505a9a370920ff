"""Which folder stores the answer cache may read: never one an agent's program can write."""

from __future__ import annotations

from pathlib import Path

from devloop.config.workspace import Workspace
from devloop.steps.answer_cache import agents_may_write


def workspace(root: Path, yaml: str) -> Workspace:
    root.mkdir(parents=True)
    (root / "devloop.yaml").write_text(yaml)
    return Workspace(root)


def test_inside_the_workspace_only_devloop_s_state_folder_is_out_of_reach(tmp_path, monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    ws = workspace(tmp_path / "ws", "sandbox_writable: []\n")
    assert agents_may_write(ws, str(ws.root / ".devloop/cache")) is None
    assert agents_may_write(ws, str(ws.root / ".devloop")) is None
    for inside in ("cache", "src/.cache", ".devloop-cache", "plans/a/cache"):
        assert agents_may_write(ws, str(ws.root / inside)) == "the workspace, where implementers write", inside
    # A link inside the state folder that leads elsewhere is judged where it leads.
    (ws.root / ".devloop").mkdir()
    (ws.root / ".devloop" / "elsewhere").symlink_to(ws.root / "src", target_is_directory=True)
    assert agents_may_write(ws, str(ws.root / ".devloop/elsewhere")) is not None


def test_outside_it_every_place_confined_programs_are_given_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmpdir"))
    yaml = (
        "sandbox_writable: ['~', " + repr(str(tmp_path / "scratch")) + "]\n"
        "agents:\n  x: {kind: command, argv: [x], writable: [" + repr(str(tmp_path / "xstate")) + "]}\n"
    )
    ws = workspace(tmp_path / "ws", yaml)
    assert agents_may_write(ws, str(tmp_path / "home/.cache/devloop")) == "~"
    assert agents_may_write(ws, str(tmp_path / "scratch/answers")) == str(tmp_path / "scratch")
    assert agents_may_write(ws, str(tmp_path / "xstate")) == str(tmp_path / "xstate")
    assert agents_may_write(ws, str(tmp_path / "tmpdir/a")) == str(tmp_path / "tmpdir")
    assert agents_may_write(ws, str(tmp_path / "shared/answers")) is None
    assert agents_may_write(ws, str(tmp_path / "scratch-other")) is None  # a prefix of a name is not a folder
