"""Reasoning models as reviewers (issue 25): their thinking is kept in the record and not read for the vote.

A reviewer that is a real executable answers with a ``<think>`` block that
weighs both votes, then a clean ``VOTE: PRODUCTION GRADE``; an
OpenAI-compatible reviewer returns its thoughts in ``reasoning_content``
beside the content. Both count as the vote they end with, and the review
file keeps the thoughts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.chat_server import ChatServer, chat_server_fixture  # noqa: F401  (registers `chat_server`)
from tests.conftest import WS, happy_script, implemented_workspace

THOUGHTS = "Line 3 worried me and I almost wrote VOTE: NEEDS WORK, but the test covers it."


@pytest.fixture(scope="module")
def implemented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return implemented_workspace(tmp_path_factory.mktemp("implemented"))


def _copy(implemented: Path, tmp: Path) -> WS:
    ws = WS(tmp / "ws", tmp)
    shutil.copytree(implemented, ws.root, symlinks=True)
    return ws


def test_a_command_reviewer_that_thinks_first_is_counted_by_its_vote(implemented: Path, tmp_path: Path) -> None:
    ws = _copy(implemented, tmp_path)
    answer = f"<think>\n{THOUGHTS}\n</think>\n\nReviewed src/a.py.\n\nVOTE: PRODUCTION GRADE\n"
    ws.set_script({**happy_script("a"), "a/code_review/round1-judge": {"answer": answer}})
    r = ws.doit("code_review:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1/1 PRODUCTION GRADE" in ws.read("plans/a/reviews.md")
    assert THOUGHTS in ws.read("plans/a/reviews/round1-judge.md"), "the thinking is kept in the record"


def test_an_openai_reviewer_with_reasoning_content_is_counted_by_its_vote(
    implemented: Path, tmp_path: Path, chat_server: ChatServer
) -> None:
    ws = _copy(implemented, tmp_path)
    proxy = f"  thinker: {{kind: openai, base_url: '{chat_server.url}', model: r1, max_retries: 0}}\n"
    text = ws.read("devloop.yaml").replace("agents:\n", "agents:\n" + proxy, 1)
    (ws.root / "devloop.yaml").write_text(text.replace("  reviewers: [judge]\n", "  reviewers: [thinker]\n"))
    body = ChatServer.completion("Reviewed every file.\n\nVOTE: PRODUCTION GRADE\n")
    body["choices"][0]["message"]["reasoning_content"] = THOUGHTS + " </think> VOTE: NEEDS WORK"
    chat_server.enqueue(200, body)
    r = ws.doit("code_review:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1/1 PRODUCTION GRADE" in ws.read("plans/a/reviews.md")
    kept = ws.read("plans/a/reviews/round1-thinker.md")
    assert kept.startswith("<think>\n") and THOUGHTS in kept, "the thinking is kept, as a block the grammar sets aside"
