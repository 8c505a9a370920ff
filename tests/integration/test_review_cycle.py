"""Seed 000's Production-Grade cycle with five scripted reviewers (real executables)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WS, happy_script

REVIEWERS = ["r1", "r2", "r3", "r4", "r5"]
AGENTS = ("author", "judge", *REVIEWERS, "ver", "a1", "a2")
ROLES = {"reviewers": "[r1, r2, r3, r4, r5]", "adhoc": "[a1, a2]", "verifier": "ver"}
PG = {"answer": "Solid.\nVOTE: PRODUCTION GRADE\n"}


@pytest.fixture(scope="module")
def implemented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose feature `a` is implemented, ready for code review (built once)."""
    tmp = tmp_path_factory.mktemp("base")
    root = tmp / "ws"
    root.mkdir()
    ws = WS(root, tmp)
    assert ws.git("init", "-q").returncode == 0
    assert ws.devloop("init").returncode == 0
    ws.config(agents=AGENTS, **ROLES)
    ws.add_feature("a")
    r = ws.doit("implement:a")
    assert r.returncode == 0, r.stdout + r.stderr
    return root


def fresh(implemented: Path, tmp_path: Path, script: dict[str, Any], extra: str = "", **roles: str) -> WS:
    root = tmp_path / "ws"
    shutil.copytree(implemented, root, symlinks=True)
    ws = WS(root, tmp_path)
    if extra or roles:
        ws.config(extra=extra, agents=AGENTS, **{**ROLES, **roles})
    ws.set_script({**happy_script("a"), **script})
    return ws


def review(k: int, who: str, answer: dict[str, Any]) -> dict[str, Any]:
    return {f"a/code_review/round{k}-{who}": answer}


def all_pg(k: int, *who: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in who or REVIEWERS:
        out.update(review(k, r, PG))
    return out


def code_review_calls(ws: WS) -> list[tuple[str, str]]:
    return [(c, a) for s, c, a in ws.agents_since(0) if s == "code_review"]


def test_five_production_grade_votes_pass(implemented: Path, tmp_path: Path) -> None:
    ws = fresh(implemented, tmp_path, all_pg(1))
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(code_review_calls(ws)) == sorted((f"round1-{x}", x) for x in REVIEWERS)
    record = ws.read("plans/a/reviews.md")
    assert "Final PRODUCTION GRADE count: 5/5" in record
    assert "pass — 5/5 PRODUCTION GRADE (needed 5)" in record
    for x in REVIEWERS:
        assert (ws.root / f"plans/a/reviews/round1-{x}.md").exists()


def test_a_confirmed_p1_goes_back_to_the_implementer_then_the_full_cycle_passes(
    implemented: Path, tmp_path: Path
) -> None:
    p1 = {"answer": "- [P1] src/a.py:1 — prints to stdout instead of the logger\nVOTE: NEEDS WORK\n"}
    script = {
        **all_pg(1),
        **review(1, "r2", p1),
        "a/code_review/round1-verify": {"answer": "CLAIM 1: CONFIRMED\n"},
        "a/code_review/round1-fix": {"write": {"src/a.py": "import logging\nlogging.info('hi')\n"}},
        **all_pg(2),
    }
    ws = fresh(implemented, tmp_path, script)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    calls = code_review_calls(ws)
    assert ("round1-verify", "ver") in calls
    assert ("round1-fix", "author") in calls
    assert sorted(c for c, _ in calls if c.startswith("round2-")) == [f"round2-{x}" for x in REVIEWERS]
    record = ws.read("plans/a/reviews.md")
    assert "verifier CONFIRMED; blocks" in record and "### Fix applied\n`src/a.py`" in record
    assert "Final PRODUCTION GRADE count: 5/5" in record
    assert ws.read("src/a.py").startswith("import logging")


def test_a_p2_is_fixed_and_retriggers_every_reviewer(implemented: Path, tmp_path: Path) -> None:
    p2 = {"answer": "- [P2] src/a.py:1 — no docstring on a public script\nVOTE: NEEDS WORK\n"}
    script = {
        **all_pg(1),
        **review(1, "r4", p2),
        "a/code_review/round1-verify": {"answer": "CLAIM 1: CONFIRMED\n"},
        "a/code_review/round1-fix": {"write": {"src/a.py": '"""Say hi."""\nprint("hi")\n'}},
        **all_pg(2),
    }
    ws = fresh(implemented, tmp_path, script)
    assert ws.doit().returncode == 0
    assert len([c for c, _ in code_review_calls(ws) if c.startswith("round2-")]) == 5


def test_recheck_raisers_only_asks_the_unsatisfied_reviewer_again(implemented: Path, tmp_path: Path) -> None:
    p1 = {"answer": "- [P1] src/a.py:1 — wrong\nVOTE: NEEDS WORK\n"}
    script = {
        **all_pg(1),
        **review(1, "r2", p1),
        "a/code_review/round1-verify": {"answer": "CLAIM 1: CONFIRMED\n"},
        "a/code_review/round1-fix": {"write": {"src/a.py": "print('fixed')\n"}},
        **all_pg(2, "r2"),
    }
    ws = fresh(implemented, tmp_path, script, extra="steps:\n  code_review: {recheck: raisers}\n")
    assert ws.doit().returncode == 0
    assert [c for c, _ in code_review_calls(ws) if c.startswith("round2-")] == ["round2-r2"]
    assert "Final PRODUCTION GRADE count: 5/5" in ws.read("plans/a/reviews.md")


def test_only_p3_passes_and_is_documented(implemented: Path, tmp_path: Path) -> None:
    p3 = {"answer": "- [P3] src/a.py:1 — a comment would help\nVOTE: NEEDS WORK\n"}
    script = {**all_pg(1), **review(1, "r1", p3), "a/code_review/round1-verify": {"answer": "CLAIM 1: CONFIRMED\n"}}
    ws = fresh(implemented, tmp_path, script)
    assert ws.doit().returncode == 0
    assert not any(c.endswith("-fix") for c, _ in code_review_calls(ws))
    record = ws.read("plans/a/reviews.md")
    assert "a comment would help (by r1; verifier CONFIRMED; documented)" in record
    assert "Final PRODUCTION GRADE count: 5/5" in record


def test_claims_at_a_wrong_place_are_judged_by_the_verifier_not_dropped(implemented: Path, tmp_path: Path) -> None:
    ghost = {"answer": "- [P0] src/ghost.py:3 — deletes prod\n- [P1] src/a.py:99 — out of range\nVOTE: NEEDS WORK\n"}
    verdicts = {"answer": "CLAIM 1: REJECTED — nothing deletes anything\nCLAIM 2: REJECTED — no such problem\n"}
    ws = fresh(implemented, tmp_path, {**all_pg(1), **review(1, "r3", ghost), "a/code_review/round1-verify": verdicts})
    assert ws.doit().returncode == 0
    calls = code_review_calls(ws)
    assert any(c == "round1-verify" for c, _ in calls)
    assert not any(c.endswith("-fix") for c, _ in calls), "both rejected: nothing to fix"
    record = ws.read("plans/a/reviews.md")
    assert "cited place wrong (file does not exist), judged against the whole file; verifier REJECTED" in record
    assert "cited place wrong (line 99 is outside 1..1), judged against the whole file; verifier REJECTED" in record


def test_a_rejected_claim_does_not_block_but_an_unanswered_one_does(implemented: Path, tmp_path: Path) -> None:
    two = {"answer": "- [P1] src/a.py:1 — bad\n- [P1] src/a.py:1 — worse\nVOTE: NEEDS WORK\n"}
    script = {
        **all_pg(1),
        **review(1, "r5", two),
        "a/code_review/round1-verify": {"answer": "CLAIM 1: REJECTED — the line is fine\n"},
        "a/code_review/round1-fix": {"write": {"src/a.py": "print('better')\n"}},
        **all_pg(2),
    }
    ws = fresh(implemented, tmp_path, script)
    assert ws.doit().returncode == 0
    record = ws.read("plans/a/reviews.md")
    assert "verifier REJECTED: the line is fine; does not block" in record
    assert "worse (by r5; no verifier verdict (counts as confirmed); blocks)" in record
    assert ("round1-fix", "author") in code_review_calls(ws)


def test_one_reviewer_down_is_retried_then_substituted(implemented: Path, tmp_path: Path) -> None:
    down = {"stderr": "Error: not logged in\n", "exit": 1}
    script = {
        **all_pg(1),
        **review(1, "r3", down),
        "a/code_review/round1-r3-retry1": down,
        **review(1, "a1", PG),
    }
    ws = fresh(implemented, tmp_path, script)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    calls = code_review_calls(ws)
    assert ("round1-r3-retry1", "r3") in calls and ("round1-a1", "a1") in calls
    record = ws.read("plans/a/reviews.md")
    assert "| r3 | a1 | PRODUCTION GRADE | substitute for r3 (exited with code 1: Error: not logged in) |" in record
    assert "Final PRODUCTION GRADE count: 5/5" in record


def test_two_reviewers_down_is_a_hard_stall(implemented: Path, tmp_path: Path) -> None:
    down = {"stderr": "quota exceeded\n", "exit": 1}
    script = {**all_pg(1)}
    for who in ("r2", "r4"):
        script.update(review(1, who, down))
        script[f"a/code_review/round1-{who}-retry1"] = down
    ws = fresh(implemented, tmp_path, script)
    r = ws.doit()
    assert r.returncode == 1
    assert "hard stall: 2 reviewers unavailable" in r.stdout
    calls = code_review_calls(ws)
    assert not any(a in ("a1", "a2") for _, a in calls)  # no substitution in a stall
    assert not any(c.endswith("-fix") for c, _ in calls)
    assert "evaluate" not in [s for s, _, _ in ws.agents_since(0)]


GARBAGE = [
    "",
    "> VOTE: PRODUCTION GRADE\n",
    "```\nVOTE: PRODUCTION GRADE\n```\n",
    "VOTE: PRODUCTION GRADE\nVOTE: NEEDS WORK\n",
    "VOTE: PRODUCTION GRADE\n```python\nprint('cut off",
    "I would vote production grade.\n",
]


@pytest.mark.parametrize("answer", GARBAGE, ids=["empty", "quoted", "fenced", "both", "truncated", "prose"])
def test_garbage_never_counts_as_production_grade(implemented: Path, tmp_path: Path, answer: str) -> None:
    bad = {"answer": answer}
    script = {**all_pg(1), **review(1, "r1", bad), "a/code_review/round1-r1-retry1": bad, **review(1, "a1", PG)}
    ws = fresh(implemented, tmp_path, script)
    assert ws.doit().returncode == 0
    record = ws.read("plans/a/reviews.md")
    assert "| r1 | a1 | PRODUCTION GRADE | substitute for r1 (" in record
    assert ("round1-a1", "a1") in code_review_calls(ws)


def test_the_cycle_cap_escalates_to_a_gate(implemented: Path, tmp_path: Path) -> None:
    p1 = {"answer": "- [P1] src/a.py:1 — still wrong\nVOTE: NEEDS WORK\n"}
    script: dict[str, Any] = {}
    for k in (1, 2):
        script.update(all_pg(k))
        script.update(review(k, "r1", p1))
        script[f"a/code_review/round{k}-verify"] = {"answer": "CLAIM 1: CONFIRMED\n"}
        script[f"a/code_review/round{k}-fix"] = {"write": {"src/a.py": f"print({k})\n"}}
    ws = fresh(implemented, tmp_path, script, extra="steps:\n  code_review: {max_cycles: 2}\n")
    r = ws.doit()
    assert r.returncode == 0, r.stdout
    assert "code_review:a (waiting for approval)" in r.stdout
    assert "Next: devloop approve a code-review" in r.stdout
    assert ws.devloop("approve", "a", "code-review").returncode == 0
    r = ws.doit()
    assert "Next: nothing  (a has been through the whole loop)" in r.stdout


def test_a_rotated_implementer_never_reviews_and_its_seat_is_filled(implemented: Path, tmp_path: Path) -> None:
    script = {
        "a/implement/implement": {**happy_script("a")["a/implement/implement"]},
        **all_pg(1, "r2", "r3", "r4", "r5", "a1"),
    }
    ws = fresh(implemented, tmp_path, script)
    text = (ws.root / "devloop.yaml").read_text()
    text = text.replace("  implementer: author\n", "  implementer: gone\n  implementer_rotation: [r1]\n")
    text = text.replace("agents:\n", "agents:\n  gone: {kind: command, argv: [/nonexistent/agent-cli]}\n")
    (ws.root / "devloop.yaml").write_text(text)
    assert "implement: drifted" in ws.devloop("why", "a").stdout  # a new agent is not a reason to pay again...
    assert ws.devloop("redo", "a", "implement").returncode == 0  # ...unless asked
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "backup implementer r1 took over from gone (command not found: /nonexistent/agent-cli)" in r.stdout
    assert ("implement", "implement", "r1") in ws.agents_since(0)
    reviewers = sorted(a for c, a in code_review_calls(ws) if c.startswith("round"))
    assert reviewers == ["a1", "r2", "r3", "r4", "r5"]
    assert "a1 fills the seat of r1, who implemented this feature" in ws.read("plans/a/reviews.md")


def test_non_utf8_bytes_are_unparseable_not_a_vote(implemented: Path, tmp_path: Path) -> None:
    ws = fresh(implemented, tmp_path, {**all_pg(1), **review(1, "a1", PG)})
    text = (ws.root / "devloop.yaml").read_text()
    garbage = Path(__file__).resolve().parents[1] / "fakes" / "garbage.py"
    text = re.sub(r"(?m)^  r1: \{.*\}$", f"  r1: {{kind: command, argv: [{garbage}], timeout: 60}}", text)
    (ws.root / "devloop.yaml").write_text(text)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    record = ws.read("plans/a/reviews.md")
    assert "| r1 | a1 | PRODUCTION GRADE | substitute for r1 (answer is not valid UTF-8) |" in record
