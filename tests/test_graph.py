"""devloop.views.graph: the step graph in Mermaid and DOT, checked against golden files.

The workspace is built by writing locks directly, so every state the engine
can report (not run, pending, stale, gate, waiting, failed) is in the picture.
Regenerate the golden files with ``DEVLOOP_UPDATE_GOLDEN=1`` after a deliberate
change, and read the diff.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from devloop.cli.views import graph as graph_cmd
from devloop.provenance.hashing import MISSING, hash_bytes
from devloop.provenance.lockfile import write_lock
from devloop.provenance.staleness import Status
from devloop.provenance.state import FeatureLock
from devloop.runtime.errors import DevloopError
from devloop.steps.registry import ORDER
from devloop.views.graph import edges, render
from tests.goldens import check_golden


def feature(root: Path, name: str, steps: dict[str, Any] | None, gates: dict[str, Any] | None = None) -> None:
    folder = root / "plans" / name
    folder.mkdir(parents=True)
    (folder / "brief.md").write_text(f"# {name}\n")
    if steps is not None:
        lock = FeatureLock.from_dict({"version": 2, "steps": steps, "gates": gates or {}}, name)
        write_lock(folder / "devloop.lock", lock)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "devloop.yaml").write_text("")  # a workspace: all defaults
    feature(tmp_path, "alpha", None)  # never run
    inputs = {"plans/beta/brief.md": hash_bytes(b"# beta\n"), "plans/beta/plan.md": MISSING}
    waiting_at_gate = {"n": 1, "started": "t", "base": {**inputs, "plans/beta/validation.md": MISSING}}
    feature(
        tmp_path,
        "beta",
        {
            "plan": {"state": "done", "inputs": {}, "outputs": []},  # recorded with other inputs: stale
            "plan_review": {"state": "gate", "detail": "gate plan: still divergent", "attempt": waiting_at_gate},
            "implement": {"state": "waiting", "detail": "write the code"},
        },
        {"plan": {"step": "plan_review", "subject": {}, "status": "pending"}},
    )
    feature(tmp_path, "gamma-2", {"plan": {"state": "failed", "detail": "the planner timed out"}})
    return tmp_path


def run_graph(root: Path, *args: str) -> str:
    r = CliRunner().invoke(graph_cmd, [*args, "-C", str(root)])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize(("fmt", "golden"), [("mermaid", "graph.mmd"), ("dot", "graph.dot")])
def test_every_feature_matches_the_golden_file(workspace: Path, fmt: str, golden: str) -> None:
    text = run_graph(workspace, "--format", fmt)
    check_golden(golden, text)
    assert text == run_graph(workspace, "--format", fmt)  # deterministic


def test_one_feature_is_its_own_subgraph_of_the_full_graph(workspace: Path) -> None:
    one = run_graph(workspace, "beta")
    assert 'subgraph f_beta["beta"]' in one and "f_alpha" not in one
    assert 'f_beta__plan_review["plan_review<br/>gate"]' in one
    assert "  class f_beta__plan stale" in one
    dot = run_graph(workspace, "gamma-2", "--format", "dot")
    assert '"gamma-2/plan" [label="plan\\nfailed", fillcolor="#f8d7da"' in dot


def test_unknown_or_badly_named_feature_is_a_usage_error(workspace: Path) -> None:
    r = CliRunner().invoke(graph_cmd, ["nope", "-C", str(workspace)])
    assert r.exit_code != 0 and "no feature 'nope'" in str(r.exception)
    r = CliRunner().invoke(graph_cmd, ["Bad_Name", "-C", str(workspace)])
    assert r.exit_code != 0 and "kebab-case" in str(r.exception)


def test_edges_follow_doit_dependencies_and_evaluate_waits_on_smoke() -> None:
    solid = [(a, b) for a, b, dashed in edges() if not dashed]
    assert ("deploy_review", "smoke") in solid and ("deploy_review", "evaluate") in solid
    assert [(a, b) for a, b, dashed in edges() if dashed] == [("smoke", "evaluate")]
    assert {b for _, b in solid} == set(ORDER) - {"plan"}


def test_hand_edit_and_fresh_states_get_their_own_classes() -> None:
    rows = {"x": {s: Status("fresh") for s in ORDER}}
    rows["x"]["plan"] = Status("edited", edited=["plans/x/plan.md"])
    text = render(rows)
    assert 'f_x__plan["plan<br/>hand edit"]' in text and "  class f_x__plan edited" in text
    assert "classDef edited fill:#fff3cd,stroke:#b26a00,stroke-width:3px" in text
    assert 'label="plan_review\\nup to date", fillcolor="#d4edda"' in render(rows, "dot")


# -- pictures: svg, png, --open ---------------------------------------------------

FAKE_DOT = """#!/bin/sh
# A stand-in for Graphviz's dot: records its arguments and input, answers with a small SVG.
printf '%s\\n' "$@" > "${0%/*}/dot.args"
while IFS= read -r line; do printf '%s\\n' "$line"; done > "${0%/*}/dot.stdin"
printf '<svg xmlns="http://www.w3.org/2000/svg"><text>fake %s</text></svg>\\n' "$1"
"""


def bin_dir(tmp_path: Path, **scripts: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name, text in scripts.items():
        exe = folder / name.replace("_", "-")
        exe.write_text(text)
        exe.chmod(0o755)
    return folder


def invoke(root: Path, *args: str) -> Any:
    return CliRunner().invoke(graph_cmd, [*args, "-C", str(root)])


def test_svg_is_drawn_by_the_dot_on_path_into_the_state_folder(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = bin_dir(tmp_path, dot=FAKE_DOT)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.chdir(workspace)
    r = invoke(workspace, "--format", "svg")
    assert r.exit_code == 0, r.output
    assert r.output == "Wrote .devloop/graph.svg\n"
    assert (workspace / ".devloop/graph.svg").read_text() == (
        '<svg xmlns="http://www.w3.org/2000/svg"><text>fake -Tsvg</text></svg>\n'
    )
    assert (folder / "dot.args").read_text() == "-Tsvg\n"
    assert (folder / "dot.stdin").read_text() == run_graph(workspace, "--format", "dot")  # the DOT devloop prints
    assert (workspace / ".devloop/.gitignore").exists()  # never committed by accident

    r = invoke(workspace, "beta", "--format", "png", "-o", str(tmp_path / "out" / "b.png"))
    assert r.exit_code == 0, r.output
    assert (folder / "dot.args").read_text() == "-Tpng\n"
    assert "fake -Tpng" in (tmp_path / "out" / "b.png").read_text()
    assert '"beta/plan"' in (folder / "dot.stdin").read_text()
    assert '"alpha/plan"' not in (folder / "dot.stdin").read_text()
    r = invoke(workspace, "beta", "--format", "svg")
    assert r.exit_code == 0 and (workspace / ".devloop/graph-beta.svg").exists()


def test_text_formats_can_be_written_to_a_file(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.mmd"
    r = invoke(workspace, "-o", str(out))
    assert r.exit_code == 0 and r.output == f"Wrote {out.resolve()}\n"
    assert out.read_text() == run_graph(workspace)


def test_without_dot_the_error_says_how_to_get_it_and_what_works_without(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(bin_dir(tmp_path)))  # nothing on it
    for args in (["--format", "png"], ["--open"]):
        r = invoke(workspace, *args)
        assert r.exit_code != 0
        message = str(r.exception)
        assert "\n" not in message
        assert "apt install graphviz" in message and "brew install graphviz" in message
        assert "--format dot and --format mermaid work without it" in message
        assert isinstance(r.exception, DevloopError) and r.exception.exit_code == 2
    assert not (workspace / ".devloop/graph.png").exists() and not (workspace / ".devloop/graph.svg").exists()
    assert invoke(workspace, "--format", "dot").exit_code == 0  # text needs nothing


def test_a_failing_dot_is_an_error_naming_its_last_line(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = "#!/bin/sh\nwhile read -r line; do :; done\necho 'Error: <stdin>: syntax error in line 3' >&2\nexit 1\n"
    monkeypatch.setenv("PATH", str(bin_dir(tmp_path, dot=broken)))
    r = invoke(workspace, "--format", "svg")
    assert r.exit_code != 0 and "syntax error in line 3" in str(r.exception)
    assert not (workspace / ".devloop/graph.svg").exists()


def test_open_draws_an_svg_and_hands_it_to_the_opener(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    record = tmp_path / "opened"
    opener = f"#!/bin/sh\nprintf '%s' \"$1\" > {record}.tmp && /bin/mv {record}.tmp {record}\n"
    monkeypatch.setenv("PATH", str(bin_dir(tmp_path, dot=FAKE_DOT, xdg_open=opener)))
    r = invoke(workspace, "--open")
    assert r.exit_code == 0, r.output
    assert r.output.endswith("Opened it with xdg-open.\n")
    deadline = time.monotonic() + 10
    while not record.exists() and time.monotonic() < deadline:  # the viewer is not waited for
        time.sleep(0.05)
    assert record.read_text() == str((workspace / ".devloop/graph.svg").resolve())


def test_open_without_an_opener_prints_where_the_picture_is(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("PATH", str(bin_dir(tmp_path, dot=FAKE_DOT)))
    r = invoke(workspace, "--open", "--format", "png")
    assert r.exit_code == 0, r.output
    shown = str((workspace / ".devloop/graph.png").resolve())
    assert f"open {shown} yourself" in r.output
    assert (workspace / ".devloop/graph.png").exists()


def test_open_refuses_a_text_format(workspace: Path) -> None:
    r = invoke(workspace, "--open", "--format", "dot")
    assert r.exit_code != 0 and "--open draws a picture" in str(r.exception)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_real_dot_draws_every_state(workspace: Path, tmp_path: Path) -> None:
    svg = tmp_path / "g.svg"
    r = invoke(workspace, "--format", "svg", "-o", str(svg))
    assert r.exit_code == 0, r.output
    text = svg.read_text()
    assert "<svg" in text and "<title>gamma&#45;2/plan</title>" in text
    assert ">plan_review</text>" in text and 'fill="#f8d7da"' in text  # gamma-2's failed plan, in red
    png = tmp_path / "g.png"
    assert invoke(workspace, "--format", "png", "-o", str(png)).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
