"""devloop.views.rollup: cadence, grouping of suggestions, the written roll-up and its chart."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from click.testing import CliRunner

from devloop.cli.views import rollup as rollup_cmd
from devloop.config.workspace import Workspace
from devloop.judging.answers import DIMENSIONS
from devloop.provenance.lockfile import empty_lock, write_lock
from devloop.provenance.state import StepRecord
from devloop.views.rollup import Evaluation, due, group_suggestions, jaccard, render, rollup, words

PNG = b"\x89PNG\r\n\x1a\n"
T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def ev(feature: str, minutes: int = 0, findings: list[dict[str, str]] | None = None, **scores: int) -> Evaluation:
    full = {d: scores.get(d, 4) for d in DIMENSIONS}
    return Evaluation(feature, T0 + dt.timedelta(minutes=minutes), full, findings or [])


def evaluation_md(findings: list[dict[str, str]] | None = None, **scores: int) -> str:
    lines = ["Scored.", "", "```yaml", "scores:"]
    lines += [f"  {d}: {scores.get(d, 4)}" for d in DIMENSIONS]
    lines.append("findings:" + ("" if findings else " []"))
    for f in findings or []:
        lines.append(f"  - dimension: {f['dimension']}")
        for key in ("evidence", "impact", "suggestion"):
            lines.append(f"    {key}: {json.dumps(f[key])}")
    return "\n".join([*lines, "```", ""])


def finding(dimension: str, suggestion: str) -> dict[str, str]:
    return {"dimension": dimension, "evidence": "plans/x/plan.md:3", "impact": "rework", "suggestion": suggestion}


def add(root: Path, feature: str, when: dt.datetime | None, text: str) -> None:
    folder = root / "plans" / feature
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brief.md").write_text(f"# {feature}\n")
    (folder / "evaluation.md").write_text(text)
    lock = empty_lock(feature)
    if when is not None:
        lock.steps["evaluate"] = StepRecord(state="done", finished=when.isoformat())
    write_lock(folder / "devloop.lock", lock)


# -- cadence ---------------------------------------------------------------------
def test_nothing_to_roll_up() -> None:
    assert due([], {}, T0) == (False, "no new evaluation and no roll-up yet")


def test_due_after_every_n_new_evaluations() -> None:
    nine = [ev(f"f{i}", i) for i in range(9)]
    ok, why = due(nine, {}, T0)
    assert not ok and "9 of 10" in why and "due after 1 more" in why
    ok, why = due([*nine, ev("f9", 9)], {}, T0)
    assert ok and "10 new evaluations" in why
    assert due(nine[:3], {}, T0, every=3)[0]


def test_only_evaluations_newer_than_the_last_rollup_count() -> None:
    evals = [ev(f"f{i}", i) for i in range(12)]
    state = {"at": (T0 + dt.timedelta(minutes=5, seconds=30)).isoformat()}
    ok, why = due(evals, state, T0 + dt.timedelta(hours=1))
    assert not ok and "6 of 10 new evaluations since the last roll-up (2026-03-10)" in why


def test_due_when_the_month_changed_since_the_last_rollup() -> None:
    evals = [ev("a", 0), ev("b", 1)]
    state = {"at": (T0 - dt.timedelta(days=1)).isoformat()}
    assert not due(evals, state, T0 + dt.timedelta(days=2))[0]
    ok, why = due(evals, state, dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    assert ok and "month changed since 2026-03" in why
    assert not due(evals, state, dt.datetime(2026, 4, 1, tzinfo=dt.UTC), monthly=False)[0]


def test_month_change_without_a_new_evaluation_is_not_due() -> None:
    state = {"at": (T0 + dt.timedelta(hours=1)).isoformat()}
    ok, why = due([ev("a")], state, dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert not ok and why.startswith("no new evaluation since the last roll-up")


def test_without_a_previous_rollup_the_month_counts_from_the_first_evaluation() -> None:
    assert due([ev("a")], {}, dt.datetime(2026, 4, 2, tzinfo=dt.UTC))[0]


# -- grouping --------------------------------------------------------------------
def test_words_are_normalised() -> None:
    assert words("Add the missing checks to the Templates!") == words("adding missing check in template")
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_similar_suggestions_group_and_dissimilar_ones_do_not() -> None:
    evals = [
        ev("a", 0, [finding("plan_quality", "List the rollback steps in the plan")]),
        ev("b", 1, [finding("plan_quality", "The plan should list rollback steps")]),
        ev("c", 2, [finding("review_usefulness", "Reviewers must cite line numbers")]),
    ]
    groups = group_suggestions(evals)
    assert [g.features for g in groups] == [["a", "b"], ["c"]]
    assert groups[0].dimension == "plan_quality"


def test_a_proposal_needs_two_evaluations_and_goes_on_top() -> None:
    same = "Name the smoke thresholds explicitly"
    once = ev("a", 0, [finding("trigger_correctness", same), finding("trigger_correctness", same + ".")])
    text = render([once], group_suggestions([once]), [], "2026-03", None)
    assert "None: no suggestion recurred" in text  # twice in one evaluation is still one evaluation
    twice = [once, ev("b", 1, [finding("trigger_correctness", "name smoke thresholds explicitly")])]
    text = render(twice, group_suggestions(twice), [], "2026-03", None)
    top = text.index("## Proposed changes to the loop")
    line = next(x for x in text.splitlines() if x.startswith("1. "))
    assert top < text.index("## Scores by dimension")
    assert "**trigger_correctness**" in line and "steps.red_team / steps.deploy_review" in line
    assert "seen in 2 evaluations: a, b" in line


def test_averages_minimums_and_sub4_counts() -> None:
    evals = [
        ev("a", 0, plan_quality=2, review_usefulness=5),
        ev("b", 1, plan_quality=3),
        ev("c", 2, plan_quality=5, implementation_drift=1),
    ]
    text = render(evals, [], [], "2026-03", "chart.png")
    assert "| plan_quality | 3.33 | 2 | 2 |" in text
    assert "| review_usefulness | 4.33 | 4 | 0 |" in text
    assert "| implementation_drift | 3.00 | 1 | 1 |" in text
    assert "- plan_quality: 2 features below 4 (recurring): a, b" in text
    assert "![Scores over time](chart.png)" in text
    # Lowest total first; a tie on the total (a and b, 15) goes to the earlier evaluation.
    lowest = text.split("## Lowest-scoring features\n\n")[1].split("\n\n")[0].splitlines()
    assert lowest == [
        "- c (total 14; plan_quality 5, review_usefulness 4, implementation_drift 1, trigger_correctness 4;"
        " evaluated 2026-03-10)",
        "- a (total 15; plan_quality 2, review_usefulness 5, implementation_drift 4, trigger_correctness 4;"
        " evaluated 2026-03-10)",
        "- b (total 15; plan_quality 3, review_usefulness 4, implementation_drift 4, trigger_correctness 4;"
        " evaluated 2026-03-10)",
    ]
    assert "| first half | 1 |" in text and "| second half | 2 |" in text


# -- writing ---------------------------------------------------------------------
def test_rollup_writes_markdown_png_and_state_and_skips_unparseable(tmp_path: Path) -> None:
    fix = "Ask the planner for explicit rollback thresholds"
    for i in range(10):
        add(
            tmp_path,
            f"f{i}",
            T0 + dt.timedelta(minutes=i),
            evaluation_md([finding("plan_quality", fix)], plan_quality=3),
        )
    add(tmp_path, "broken", T0, "no yaml here\n")
    add(tmp_path, "no-lock-time", None, evaluation_md())  # the file's mtime stands in for the time
    os.utime(tmp_path / "plans" / "no-lock-time" / "evaluation.md", (T0.timestamp(), T0.timestamp()))
    ws = Workspace(tmp_path)
    path, why = rollup(ws, now=T0 + dt.timedelta(hours=1))
    assert path == tmp_path / "runs" / "rollup-202603.md" and "11 new evaluations" in why
    text = path.read_text()
    assert "From 11 evaluation(s); 1 skipped." in text
    assert "plans/broken/evaluation.md: expected exactly one fenced yaml block" in text
    assert "(seen in 10 evaluations:" in text and "`templates/plan.md.j2`" in text
    assert "![Scores over time](rollup-202603.png)" in text
    assert (tmp_path / "runs" / "rollup-202603.png").read_bytes().startswith(PNG)
    state = json.loads((tmp_path / "runs" / "rollup-state.json").read_text())
    assert state == {"at": "2026-03-10T13:00:00+00:00", "file": "runs/rollup-202603.md", "evaluations": 11}
    # Nothing new since: not due, nothing written; --force writes (and archives the previous file).
    later = T0 + dt.timedelta(hours=2)
    assert rollup(ws, now=later) == (None, "no new evaluation since the last roll-up (2026-03-10)")
    path, why = rollup(ws, force=True, now=later)
    assert path is not None and why.startswith("forced (")
    assert list((tmp_path / "runs" / ".history").rglob("rollup-202603.md"))


def test_forced_rollup_of_no_evaluations_has_no_chart(tmp_path: Path) -> None:
    path, _ = rollup(Workspace(tmp_path), force=True, now=T0)
    assert path is not None and "From 0 evaluation(s)" in path.read_text()
    assert "![" not in path.read_text() and not (tmp_path / "runs" / "rollup-202603.png").exists()


def test_cli_says_why_not_due_and_force_writes(tmp_path: Path) -> None:
    (tmp_path / "devloop.yaml").write_text("")  # a workspace
    add(tmp_path, "a", dt.datetime.now(dt.UTC), evaluation_md())
    runner = CliRunner()
    r = runner.invoke(rollup_cmd, ["-C", str(tmp_path)])
    assert r.exit_code == 0 and r.output.startswith("No roll-up due: 1 of 10 new evaluations and no roll-up yet")
    r = runner.invoke(rollup_cmd, ["--force", "-C", str(tmp_path)])
    assert r.exit_code == 0 and r.output.startswith("Wrote runs/rollup-") and "forced" in r.output


def test_matplotlib_is_not_imported_by_the_views_module() -> None:
    import subprocess
    import sys

    code = "import sys, devloop.cli.views, devloop.views.rollup; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
