"""The answer cache's pure parts: what a key is made of, and reading an entry without trusting it."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from devloop.provenance import gitclean, hashing
from devloop.provenance.cache import keys, workstate
from devloop.provenance.cache.entries import BadEntry, Entry, parse, record_of, safe_path

SHA = "a" * 64
KEY = "b" * 64


def key(**over):
    parts = {
        "step": "plan_review",
        "role": "plan_reviewer",
        "call_id": "round1-review",
        "prompt": "Review this plan.",
        "contract": "judge x -> plans/a/plan-review.md",
        "seat": {"kind": "command", "argv": ["codex"]},
        "workspace": None,
    }
    return keys.call_key(**{**parts, **over})


def test_every_part_of_the_question_changes_the_key():
    base = key()
    assert key() == base
    for part, value in [
        ("step", "code_review"),
        ("role", "reviewers"),
        ("call_id", "round2-review"),
        ("prompt", "Review this plan!"),
        ("contract", "judge y -> plans/a/plan-review.md"),
        ("seat", {"kind": "command", "argv": ["claude"]}),
        ("workspace", {}),
        ("workspace", {"src/a.py": "1" * 40}),
    ]:
        assert key(**{part: value}) != base, part


def test_a_seat_keeps_what_decides_the_answer_and_no_secret():
    agent = {
        "kind": "openai",
        "base_url": "http://localhost:4000/v1",
        "model": "m",
        "api_key_env": "KEY",
        "timeout": 60,
        "max_retries": 3,
        "temperature": 0.2,
    }
    seat = keys.seat(agent)
    assert seat == {"kind": "openai", "base_url": "http://localhost:4000/v1", "model": "m", "temperature": 0.2}
    assert keys.seat({**agent, "timeout": 900}) == seat  # whether it answers, not what
    cmd = keys.seat({"kind": "command", "argv": ["x"], "env": {"TOKEN": "s3cret"}})
    assert cmd == {"kind": "command", "argv": ["x"], "env": ["TOKEN"]}
    assert "s3cret" not in json.dumps(cmd)


def entry_bytes(**over):
    raw = {
        "version": 1,
        "key": KEY,
        "step": "implement",
        "role": "implementer",
        "call": "implement",
        "kind": "author",
        "answer": None,
        "files": {"src/a.py": SHA},
        "executable": [],
        "deleted": [],
        "record": {"agent": "codex", "cost_usd": 0.5},
        "writer": {"user": "ci"},
    }
    raw.update(over)
    return json.dumps(raw).encode()


def test_an_entry_round_trips():
    e = Entry(KEY, "code_review", "reviewers", "round1-judge", "judge", answer=SHA, record={"cost_usd": 0.1})
    assert parse(e.to_bytes(), KEY) == e
    assert e.blobs() == [SHA]


@pytest.mark.parametrize(
    ("over", "why"),
    [
        ({"key": "c" * 64}, "another key"),
        ({"version": 2}, "version"),
        ({"files": {"../outside": SHA}}, "files"),
        ({"files": {"/etc/passwd": SHA}}, "files"),
        ({"files": {".git/config": SHA}}, "files"),
        ({"files": {"src/a.py": "not-a-sha"}}, "files"),
        ({"deleted": ["a/../../b"]}, "deleted"),
        ({"executable": ["src/b.py"]}, "executable"),
        ({"deleted": ["src/a.py"]}, "both"),
        ({"kind": "judge"}, "without an answer"),
        ({"kind": "oracle"}, "kind"),
        ({"answer": "A" * 64}, "answer"),
        ({"record": {"agent": "x", "prompt": "secret"}}, "record"),
        ({"record": {"agent": {"nested": 1}}}, "record"),
        ({"rollback": ["rm", "-rf", "/"]}, "unknown fields"),
        ({"step": ""}, "step"),
        ({"kind": "step", "files": {}}, "first round"),
        ({"kind": "step", "files": {}, "first_round": 0}, "first round"),
        ({"kind": "step", "files": {}, "first_round": True}, "first round"),
        ({"kind": "step", "first_round": 2}, "holds an answer"),
        ({"first_round": 2}, "with a first round"),
    ],
)
def test_an_entry_that_is_not_sound_is_refused_with_the_reason(over, why):
    with pytest.raises(BadEntry, match=why):
        parse(entry_bytes(**over), KEY)


def test_a_step_entry_round_trips():
    e = Entry(KEY, "plan_review", "step", "*", "step", first_round=3)
    assert parse(e.to_bytes(), KEY) == e and e.blobs() == []


def test_garbage_is_refused():
    for data in (b"", b"\xff\xfe", b"[]", b"null", b'{"version": 1'):
        with pytest.raises(BadEntry):
            parse(data, KEY)


def test_safe_paths():
    assert safe_path("src/a.py") and safe_path("plans/a/plan.md") and safe_path(".github/x.yml")
    for bad in ("", "/abs", "a/../b", "./a", "a//b", ".git/hooks/pre-commit", "a\\b", "a\0b", None, 3):
        assert not safe_path(bad), bad


def test_record_keeps_only_cost_and_who():
    line = {"agent": "a", "model": "m", "cost_usd": 0.2, "detail": "token=abc", "prompt": "p", "tokens_in": 5}
    assert record_of(line) == {"agent": "a", "model": "m", "cost_usd": 0.2, "tokens_in": 5}


def test_workspace_state_is_git_blob_ids_read_or_proven(tmp_path):
    def git(*a):
        subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    (tmp_path / "run.sh").chmod(0o755)
    git("add", ".")
    state = workstate.blob_ids(tmp_path, ["a.txt", "run.sh", "gone.txt"])
    assert state["a.txt"] == gitclean.blob_id(b"one\n")
    out = subprocess.run(["git", "hash-object", "a.txt"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert state["a.txt"] == out.stdout.strip()
    assert state["run.sh"].endswith(":x") and "gone.txt" not in state
    (tmp_path / "a.txt").write_text("two\n")
    assert workstate.blob_ids(tmp_path, ["a.txt"])["a.txt"] == gitclean.blob_id(b"two\n")


def test_a_file_read_before_is_read_again_when_its_stat_says_it_may_have_changed(tmp_path):
    """Untracked files are read for their blob id once, and again after any change, even one that keeps the
    size and puts the mtime back (the ctime moves), and whenever the first read was in the racy window."""
    path = tmp_path / "notes.txt"
    path.write_text("one\n")
    first = workstate.blob_ids(tmp_path, ["notes.txt"])["notes.txt"]
    assert first == gitclean.blob_id(b"one\n")
    st = path.stat()
    path.write_text("two\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert workstate.blob_ids(tmp_path, ["notes.txt"])["notes.txt"] == gitclean.blob_id(b"two\n")
    # Known, settled (changed more than the racy window before it was read) and unchanged: the id kept is
    # given back without reading the file; a planted id shows that no read happened.
    time.sleep(hashing.RACY_NS / 1e9 + 0.2)
    key = hashing.key_of(path.stat())
    workstate._SEEN[str(path)] = (key, "f" * 40, time.time_ns())
    assert workstate.blob_ids(tmp_path, ["notes.txt"])["notes.txt"] == "f" * 40
    # Kept from a read in the racy window: read again.
    workstate._SEEN[str(path)] = (key, "f" * 40, hashing.newest(key))
    assert workstate.blob_ids(tmp_path, ["notes.txt"])["notes.txt"] == gitclean.blob_id(b"two\n")
