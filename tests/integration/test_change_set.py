"""Reviewers see the whole change (issues 14, 24): new, changed and deleted files, tracked, ignored or not, each once.

The change is computed by comparing the workspace before and after the
implementer (a command agent or a person), plus the feature's ``paths:``
(gitignore-style), which add files and never hide any the implementer
touched.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import WS

NEW_MODULE = "def double(x):\n    return 2 * x  # NEW-MODULE-MARK\n"
NEW_TEST = "from src.calc import double\n\n\ndef test_double():\n    assert double(2) == 4  # NEW-TEST-MARK\n"
OLD_EDITED = "VALUE = 2  # EDITED-MARK\n"


def _prepare(ws: WS, implementer: str, paths: str | None) -> None:
    extra = f"features:\n  a: {{paths: {paths}}}\n" if paths else ""
    ws.config(extra=extra, implementer=implementer)
    (ws.root / "src").mkdir()
    (ws.root / "src" / "old.py").write_text("VALUE = 1\n")
    (ws.root / "src" / "gone.py").write_text("OLD = True  # GONE-MARK\n")
    (ws.root / "src" / "untouched.py").write_text("UNTOUCHED = 1  # UNTOUCHED-MARK\n")
    (ws.root / ".gitignore").write_text("*.log\n")
    ws.add_feature("a")
    ws.git("add", "-A")
    ws.git("commit", "-qm", "base")


def _implement_by_hand(ws: WS) -> None:
    r = ws.doit()
    assert "Next: write plans/a/deviations.md, scripts/smoke/a.sh" in r.stdout, r.stdout + r.stderr
    (ws.root / "src" / "calc.py").write_text(NEW_MODULE)
    (ws.root / "tests").mkdir(exist_ok=True)
    (ws.root / "tests" / "test_calc.py").write_text(NEW_TEST)
    (ws.root / "src" / "old.py").write_text(OLD_EDITED)
    (ws.root / "src" / "gone.py").unlink()
    (ws.root / "src" / "debug.log").write_text("IGNORED-MARK\n")
    (ws.root / "plans/a/deviations.md").write_text("No deviations.\n")
    (ws.root / "scripts/smoke").mkdir(parents=True, exist_ok=True)
    (ws.root / "scripts/smoke/a.sh").write_text("#!/bin/sh\nexit 0\n")


def _review_prompt(ws: WS) -> str:
    prompts = sorted(ws.log.parent.glob("prompt-a-code_review-round1-judge*.txt"))
    assert prompts, "the judge was asked"
    return prompts[0].read_text()


@pytest.mark.parametrize("implementer", ["author", "me"])
@pytest.mark.parametrize("paths", [None, '["src/**"]'])
def test_reviewers_see_every_file_the_implementer_added_changed_or_deleted(
    ws: WS, implementer: str, paths: str | None
) -> None:
    _prepare(ws, implementer, paths)
    script = dict(ws.script)
    script["a/implement/implement"] = {
        "write": {
            "src/calc.py": NEW_MODULE,
            "tests/test_calc.py": NEW_TEST,
            "src/old.py": OLD_EDITED,
            "src/debug.log": "IGNORED-MARK\n",
            "plans/a/deviations.md": "No deviations.\n",
            "scripts/smoke/a.sh": "#!/bin/sh\nexit 0\n",
        },
        "delete": ["src/gone.py"],
    }
    script["a/code_review/round1-judge"] = {"answer": "VOTE: PRODUCTION GRADE\n"}
    ws.set_script(script)
    if implementer == "me":
        _implement_by_hand(ws)
    r = ws.doit()
    prompt = _review_prompt(ws)
    for mark in ("NEW-MODULE-MARK", "NEW-TEST-MARK", "EDITED-MARK"):
        assert prompt.count(mark) == 2, (mark, r.stdout)  # once in the diff, once in the whole file
    code = prompt.split("## The code (with line numbers)", 1)[1]
    headings = re.findall(r"^### (.+)$", code, re.M)
    assert len(headings) == len(set(headings)), headings  # each file once
    assert {"src/calc.py", "tests/test_calc.py", "src/old.py", "scripts/smoke/a.sh"} <= set(headings)
    diff = prompt.split("## The diff since implementation started", 1)[1].split("## The code", 1)[0]
    assert "+++ b/src/calc.py" in diff and "+++ b/tests/test_calc.py" in diff and "+++ b/src/old.py" in diff
    assert "--- a/src/gone.py" in diff and "GONE-MARK" in diff  # a deletion is part of the change
    if implementer == "me":  # a person's ignored files (their .env, their logs) are never sent to a model
        assert "IGNORED-MARK" not in prompt and "src/debug.log" not in prompt
    else:  # an agent's are: it could hide a module from git, never from its judges
        assert prompt.count("IGNORED-MARK") == 2 and "git does not see these files" in prompt
    assert ("UNTOUCHED-MARK" in prompt) == (paths is not None)  # paths: adds files the implementer left alone
    assert ".git/" not in "".join(headings)


def test_paths_never_show_git_internals_or_what_a_link_reaches_outside(ws: WS, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("OUTSIDE-SECRET\n")
    _prepare(ws, "author", '["**/*", ".git/**"]')
    ws.git("remote", "add", "origin", "https://user:GIT-TOKEN-MARK@example.com/r.git")
    (ws.root / "src" / "out").symlink_to(outside, target_is_directory=True)
    script = dict(ws.script)
    script["a/code_review/round1-judge"] = {"answer": "VOTE: PRODUCTION GRADE\n"}
    ws.set_script(script)
    ws.doit()
    prompt = _review_prompt(ws)
    assert "GIT-TOKEN-MARK" not in prompt and "### .git/" not in prompt
    assert "OUTSIDE-SECRET" not in prompt
    assert "UNTOUCHED-MARK" in prompt  # the pattern itself works


def test_a_change_over_the_budget_is_named_in_the_prompt_and_the_record(ws: WS) -> None:
    ws.config(extra="max_code_chars: 1000\n")
    ws.add_feature("a")
    big = "".join(f"VALUE_{i} = {i}  # a long enough line to fill the budget quickly\n" for i in range(200))
    script = dict(ws.script)
    script["a/implement/implement"]["write"]["src/big.py"] = big
    script["a/code_review/round1-judge"] = {"answer": "VOTE: PRODUCTION GRADE\n"}
    ws.set_script(script)
    assert ws.doit().returncode == 0
    prompt = _review_prompt(ws)
    assert "## What you are shown" in prompt
    assert "The change is larger than the budget of 1,000 characters (max_code_chars)." in prompt
    assert "Left out (neither diff nor text): src/big.py" in prompt
    assert "VALUE_199" not in prompt
    assert "What reviewers were shown: The change is larger than the budget" in ws.read("plans/a/reviews.md")
