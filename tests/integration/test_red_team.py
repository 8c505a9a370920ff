"""Step 3.5: the red team runs only when the plan's risk calls for it; pass 2 must cover its findings."""

from __future__ import annotations

from typing import Any

from tests.conftest import WS, happy_script

RISKY_PLAN = "---\nrisk: [iam, cost]\n---\n# Plan\nGrant the workflow's service account a new role.\n"
T1 = (
    "Attack surface is wide.\n"
    "- [must-fix] Service account gets the owner role — a typo in the binding grants owner on the project\n"
    "- [acceptable] Slow first deploy — cold start adds 20 s once\n"
)
T2 = (
    "- [should-fix] Service account receives owner role — binding copied from the sandbox project\n"
    "- [should-fix] No alert on IAM policy change — a widened binding goes unnoticed for days\n"
)


def risky(ws: WS, **overrides: Any) -> None:
    ws.config(agents=("author", "judge", "t1", "t2"), red_team="[t1, t2]")
    ws.add_feature("a")
    script = {
        **happy_script("a"),
        "a/plan/plan": {"write": {"plans/a/plan.md": RISKY_PLAN, "plans/a/validation.md": "# Checks\n"}},
        "a/plan_review/round1-review": {"answer": "VERDICT: APPROVE\n"},
        "a/red_team/team-t1": {"answer": T1},
        "a/red_team/team-t2": {"answer": T2},
        "a/red_team/validation-pass2": {
            "write": {"plans/a/validation.md": "# Checks\n- RT-1: alert when roles/owner is bound\n- RT-2: audit log\n"}
        },
    }
    script.update(overrides)
    ws.set_script(script)


def test_a_risky_plan_is_attacked_covered_and_gated(ws: WS) -> None:
    risky(ws)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "red_team:a (waiting for approval)" in r.stdout
    assert "Next: devloop approve a red-team  (red team found 1 must-fix, 1 should-fix" in r.stdout
    steps = [(s, c, a) for s, c, a in ws.agents_since(0) if s == "red_team"]
    assert sorted(steps) == [
        ("red_team", "team-t1", "t1"),
        ("red_team", "team-t2", "t2"),
        ("red_team", "validation-pass2", "author"),
    ]
    report = ws.read("plans/a/red-team.md")
    consensus, single = report.split("Single team")
    assert "RT-1" in consensus and "[must-fix]" in consensus and "t1, t2" in consensus
    assert "No alert on IAM policy change" in single and "Slow first deploy" in single
    assert (ws.root / "plans/a/red-team-t1.md").read_text() == T1
    assert "implement" not in [s for s, _, _ in ws.agents_since(0)]
    assert "gate" in ws.devloop("status").stdout

    n = len(ws.calls())
    assert ws.devloop("approve", "a", "red-team").returncode == 0
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    after = [s for s, _, _ in ws.agents_since(n)]
    assert after[0] == "implement"  # plan review is not redone for the pass-2 revision
    assert "plan_review" not in after and "red_team" not in after


def test_editing_an_approved_validation_closes_the_gate_again(ws: WS) -> None:
    risky(ws)
    assert ws.doit().returncode == 0
    assert ws.devloop("approve", "a", "red-team").returncode == 0
    with open(ws.root / "plans/a/validation.md", "a") as fh:
        fh.write("- RT-3: nothing\n")
    why = ws.devloop("why", "a").stdout
    assert "input plans/a/validation.md changed" in why


def test_a_plan_without_risk_tags_skips_the_red_team(ws: WS) -> None:
    ws.config(agents=("author", "judge", "t1", "t2"), red_team="[t1, t2]")
    ws.add_feature("a")
    r = ws.doit()
    assert r.returncode == 0
    assert "Artifact: (skipped: no red-team risk tag in plan.md front matter)" in r.stdout
    assert not any(s == "red_team" for s, _, _ in ws.agents_since(0))


def test_validation_pass_2_must_reference_every_required_finding(ws: WS) -> None:
    partial = {"write": {"plans/a/validation.md": "# Checks\n- RT-1 covered\n"}}
    risky(ws, **{"a/red_team/validation-pass2": partial, "a/red_team/validation-pass2-again": partial})
    r = ws.doit()
    assert r.returncode == 1
    assert "plans/a/validation.md still does not reference RT-2 after validation pass 2" in r.stdout


def test_a_feature_can_force_the_red_team_on(ws: WS) -> None:
    ws.config(agents=("author", "judge", "t1", "t2"), red_team="[t1, t2]", extra="features:\n  a: {red_team: true}\n")
    ws.add_feature("a")
    ws.set_script(
        {
            **happy_script("a"),
            "a/red_team/team-t1": {"answer": "NO FINDINGS\n"},
            "a/red_team/team-t2": {"answer": "NO FINDINGS\n"},
        }
    )
    r = ws.doit()
    assert "red_team:a (waiting for approval)" in r.stdout
    assert "red team found 0 must-fix, 0 should-fix" in r.stdout
    assert not any(c.startswith("validation-pass2") for _, c, _ in ws.agents_since(0))


def test_status_lists_the_gates_waiting_for_a_human(ws: WS) -> None:
    risky(ws)
    ws.doit()
    out = ws.devloop("status").stdout
    assert "  a: devloop approve a red-team  (red team found 1 must-fix" in out


def test_the_boundary_lint_reaches_the_reviewer_and_the_record(ws: WS) -> None:
    code = "# Plan\n\n```python\n" + "".join(f"x{i} = {i}\n" for i in range(20)) + "```\n"
    ws.add_feature("a")
    ws.set_script(
        {
            **ws.script,
            "a/plan/plan": {"write": {"plans/a/plan.md": code, "plans/a/validation.md": "# Checks\n"}},
            "a/plan_review/round1-review": {"answer": "VERDICT: APPROVE\n"},
        }
    )
    assert ws.doit().returncode == 0
    prompt = (ws.root.parent / "last-prompt-plan_review.txt").read_text()
    assert "plans/a/plan.md:3-24: a 20-line python block" in prompt
    assert "Boundary lint: plans/a/plan.md:3-24: a 20-line python block" in ws.read("plans/a/plan-review.md")
