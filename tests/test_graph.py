"""devloop.graph: the step graph in Mermaid and DOT, checked against golden files.

The workspace is built by writing locks directly, so every state the engine
can report (not run, pending, stale, gate, waiting, failed) is in the picture.
Regenerate the golden files with ``DEVLOOP_UPDATE_GOLDEN=1`` after a deliberate
change, and read the diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from devloop.cli.views import graph as graph_cmd
from devloop.graph import edges, render
from devloop.provenance.hashing import MISSING, hash_bytes
from devloop.provenance.lockfile import write_lock
from devloop.provenance.staleness import Status
from devloop.provenance.state import FeatureLock
from devloop.steps.registry import ORDER
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
