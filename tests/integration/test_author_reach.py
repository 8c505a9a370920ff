"""Authors write only their step's outputs and the feature's code (issue 12, item 5).

A text-only implementer (an OpenAI-compatible endpoint answering with
``file=`` blocks) and a command implementer (a real subprocess writing files
itself) each try every place no author belongs. The answer is refused as a
whole, nothing of it is kept, the reason names the path, and the next answer
is asked with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chat_server import ChatServer, chat_server_fixture  # noqa: F401  (registers `chat_server`)
from tests.conftest import WS

GOOD = (
    "```file=src/a.py\nprint('a')\n```\n```file=plans/a/deviations.md\nNo deviations.\n```\n"
    "```file=scripts/smoke/a.sh\n#!/bin/sh\nexit 0\n```\n"
)


def _proxy_implementer(ws: WS, url: str) -> None:
    ws.config(implementer="proxy")
    proxy = f"  proxy: {{kind: openai, base_url: '{url}', model: m, max_retries: 0}}\n"
    (ws.root / "devloop.yaml").write_text(ws.read("devloop.yaml").replace("agents:\n", "agents:\n" + proxy, 1))


@pytest.fixture
def two(ws: WS, chat_server: ChatServer) -> WS:
    """Features a and b planned and approved; a's implementer is the HTTP agent."""
    _proxy_implementer(ws, chat_server.url)
    ws.add_feature("a")
    ws.add_feature("b")
    ws.git("add", "-A")
    ws.git("commit", "-qm", "workspace")
    return ws


def _outside(ws: WS) -> Path:
    out = ws.root.parent / "outside"
    out.mkdir(exist_ok=True)
    return out


HOSTILE = {
    "plans/a/devloop.lock": "lock files are written by devloop only",
    "runs/ledger.jsonl": "runs/ holds devloop's records",
    ".devloop/cache.json": ".devloop/ holds devloop's own state",
    "plans/b/plan.md": "it belongs to the feature 'b'",
    "scripts/smoke/b.sh": "another feature's smoke script",
    "plans/a/reviews.md": "this step writes only its own outputs",
    "plans/a/.history/x/plan.md": "archived versions are never rewritten",
    "devloop.yaml": "control files",
    "dodo.py": "control files",
    "templates/code_review.md.j2": "control files",
    "src/link/escaped.txt": "src/link is a symbolic link",
}


@pytest.mark.parametrize("target", sorted(HOSTILE))
def test_a_file_block_where_no_author_belongs_refuses_the_whole_answer(
    two: WS, chat_server: ChatServer, target: str
) -> None:
    ws = two
    (ws.root / "src").mkdir(exist_ok=True)
    os.symlink(_outside(ws), ws.root / "src" / "link")
    r = ws.doit("plan_review:b")  # b planned and approved first, so that its files exist
    assert r.returncode == 0, r.stdout + r.stderr
    before = {p: (ws.root / p).read_bytes() for p in ("devloop.yaml", "dodo.py", "plans/b/plan.md")}
    ledger = ws.read("runs/ledger.jsonl")
    chat_server.enqueue(200, ChatServer.completion(GOOD + f"```file={target}\npwned\n```\n"))
    r = ws.doit("implement:a")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "writes where an author may not" in r.stdout and target in r.stdout
    assert HOSTILE[target] in r.stdout
    assert not (ws.root / "src/a.py").exists(), "nothing of a refused answer is kept"
    assert not (_outside(ws) / "escaped.txt").exists()
    assert ws.read("runs/ledger.jsonl").startswith(ledger)
    for rel, data in before.items():
        assert (ws.root / rel).read_bytes() == data, rel
    if (ws.root / target).is_file():
        assert (ws.root / target).read_text() != "pwned\n"
    chat_server.enqueue(200, ChatServer.completion(GOOD))
    r = ws.doit("implement:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert ws.read("src/a.py") == "print('a')\n"
    again = chat_server.requests[-1].body["messages"][-1]["content"]
    assert "Your previous answer was rejected" in again and target in again


def test_a_command_implementer_that_rewrites_control_files_is_refused_and_undone(ws: WS) -> None:
    """The snapshot layer alone (no bubblewrap): the writes happen, are found, put back and archived."""
    ws.config(extra="sandbox: off\n")
    ws.add_feature("a")
    script = dict(ws.script)
    hostile = {
        "src/a.py": "print('a')\n",
        "plans/a/deviations.md": "No deviations.\n",
        "scripts/smoke/a.sh": "#!/bin/sh\nexit 0\n",
        "devloop.yaml": "roles: {reviewers: [yes-man]}\n",
        "plans/a/reviews.md": "# all good\n",
    }
    script["a/implement/implement"] = {"write": hostile}
    ws.set_script(script)
    config = ws.read("devloop.yaml")
    r = ws.doit()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "implementer (snapshots) changed files out of its reach" in r.stdout
    assert "devloop.yaml (it is one of the loop's control files" in r.stdout
    assert "plans/a/reviews.md (under plans/a/ this step writes only its own outputs" in r.stdout
    assert ws.read("devloop.yaml") == config, "the control file is put back"
    assert not (ws.root / "plans/a/reviews.md").exists(), "a file the agent added where it may not is removed"
    kept = sorted((ws.root / "plans/a/.history").rglob("devloop.yaml"))
    assert kept and kept[-1].read_text() == hostile["devloop.yaml"], "the agent's version is archived, not lost"
    script["a/implement/implement"] = {"write": {k: v for k, v in hostile.items() if not k.endswith(("yaml", "s.md"))}}
    ws.set_script(script)
    n = len(ws.calls())
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("a", "implement", "implement") in ws.calls_since(n)


def test_archives_keep_links_as_links_and_reviewers_never_see_outside_content(ws: WS) -> None:
    outside = _outside(ws)
    (outside / "secret.txt").write_text("TOP SECRET OUTSIDE\n")
    ws.config(extra="features:\n  a: {paths: ['src/**/*']}\n")
    ws.add_feature("a")
    (ws.root / "src").mkdir()
    os.symlink(outside / "secret.txt", ws.root / "src" / "leak.txt")
    os.symlink(outside, ws.root / "src" / "out")
    script = dict(ws.script)
    script["a/implement/implement"]["write"]["plans/a/deviations.md"] = "No deviations.\n"
    ws.set_script(script)
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    prompts = list((ws.log.parent).glob("last-prompt-code_review.txt"))
    assert prompts, "the fake saves the reviewer's prompt"
    text = prompts[0].read_text()
    assert "src/a.py" in text
    assert "TOP SECRET OUTSIDE" not in text and "src/leak.txt" not in text


def test_archive_copies_a_link_as_a_link(tmp_path: Path) -> None:
    from devloop.runtime.atomic import archive

    root, history = tmp_path / "ws", tmp_path / "ws" / "h"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("outside\n")
    os.symlink(tmp_path / "outside.txt", root / "link.txt")
    os.symlink(tmp_path / "nowhere", root / "dangling.txt")
    copy = archive(root, root / "link.txt", history, "t")
    assert copy is not None and copy.is_symlink() and os.readlink(copy) == str(tmp_path / "outside.txt")
    dangling = archive(root, root / "dangling.txt", history, "t")
    assert dangling is not None and dangling.is_symlink()


def test_a_planted_link_never_leads_a_name_built_path_out_of_the_workspace(ws: WS) -> None:
    """plans/<f>/reviews made a link to a folder outside: the reviews are refused there, not written through it."""
    outside = _outside(ws)
    ws.add_feature("a")
    os.symlink(outside, ws.root / "plans" / "a" / "reviews", target_is_directory=True)
    r = ws.doit()
    assert r.returncode != 0
    assert "refusing to write plans/a/reviews/round1-judge.md: through a link it leads outside the workspace" in (
        r.stdout + r.stderr
    )
    assert list(outside.iterdir()) == []
