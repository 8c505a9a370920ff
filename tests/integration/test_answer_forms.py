"""Every agent kind can answer in files or in text: a custom CLI says which with ``answer: files | text``."""

from __future__ import annotations

import sys

from tests.conftest import FAKE_AGENT, WS

BLOCKS = (
    "Here is the plan.\n\n```file=plans/a/plan.md\n# Plan\nWrite it in text. BLOCK-PLAN-MARK\n```\n\n"
    "```file=plans/a/validation.md\n# Checks\nNone yet.\n```\n"
)


def _with_texter(ws: WS, answer: str) -> None:
    ws.config(planner="texter")
    agent = f"  texter: {{kind: command, argv: [{sys.executable}, {FAKE_AGENT}, --agent, texter], answer: {answer}}}\n"
    text = ws.read("devloop.yaml").replace("agents:\n", "agents:\n" + agent, 1)
    (ws.root / "devloop.yaml").write_text(text)


def test_a_custom_cli_answering_in_text_has_its_file_blocks_written(ws: WS) -> None:
    _with_texter(ws, "text")
    ws.add_feature("a")
    ws.set_script({**ws.script, "a/plan/plan": {"answer": BLOCKS}})
    r = ws.doit("plan:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "BLOCK-PLAN-MARK" in ws.read("plans/a/plan.md")
    assert ws.read("plans/a/validation.md") == "# Checks\nNone yet.\n"
    prompt = (ws.log.parent / "last-prompt-plan.txt").read_text()
    assert "file=" in prompt  # it was told how to answer


def test_a_files_cli_that_prints_blocks_fails_with_its_answer_kept(ws: WS) -> None:
    _with_texter(ws, "files")
    ws.add_feature("a")
    ws.set_script({**ws.script, "a/plan/plan": {"answer": BLOCKS}})
    r = ws.doit("plan:a")
    assert r.returncode != 0
    assert "did not write plans/a/plan.md, plans/a/validation.md (missing or empty)" in r.stdout
    assert "set `answer: text` on the agent" in r.stdout
    kept = sorted((ws.root / ".devloop" / "rejected" / "a").glob("plan-plan-*.md"))
    assert kept and "BLOCK-PLAN-MARK" in kept[0].read_text()
    assert not (ws.root / "plans/a/plan.md").exists()
