"""`devloop cache status|push|pull|gc|verify`, and cached author answers that reach where an author may not."""

from __future__ import annotations

import json
import os

import pytest

from devloop.provenance.cache.entries import parse
from devloop.provenance.cache.stores import open_store
from devloop.provenance.hashing import hash_bytes
from tests.conftest import BIN
from tests.integration.test_answer_cache import P, edit_run_undo, script


@pytest.fixture
def answered(ws, tmp_path):
    """A workspace whose loop ran once (its answers in the local store), with a shared folder store to push to."""
    shared = tmp_path / "shared"
    ws.config(extra=f"cache:\n  stores:\n    - {{url: '{shared}', push: true}}\n")
    ws.add_feature("a", script=False)
    ws.set_script(script("print('one')\n"))
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    ws.shared = shared
    return ws


def local(ws):
    return open_store(str(ws.root / ".devloop/cache"))


def test_status_names_each_store_and_what_it_holds(answered):
    r = answered.devloop("cache", "status")
    assert r.returncode == 0, r.stderr
    # 5 calls, 2 steps' round numbers and 1 feature's snapshot (devloop.loop.snapshots)
    assert "local" in r.stdout and "8 answers" in r.stdout and str(answered.shared) in r.stdout
    data = json.loads(answered.devloop("cache", "status", "--json").stdout)
    first, second = data["stores"]
    assert (first["answers"], first["push"], second["push"], second["answers"]) == (8, True, True, 8)


def test_push_pull_copy_what_the_other_lacks(answered, tmp_path):
    other = tmp_path / "other-shared"
    answered.config(extra=f"cache:\n  stores:\n    - {{url: '{other}', push: true}}\n")
    r = answered.devloop("cache", "push")
    assert r.returncode == 0, r.stderr
    assert "8 answers copied to" in r.stdout
    r = answered.devloop("cache", "push")
    assert "0 answers copied to" in r.stdout and "8 already there" in r.stdout
    # A clone with an empty local store pulls them all.
    for item in list(local(answered).entries()):
        local(answered).delete_entry(item.name)
    r = answered.devloop("cache", "pull", "--from", str(other))
    assert r.returncode == 0, r.stderr
    assert "8 answers copied from" in r.stdout
    assert len(list(local(answered).entries())) == 8
    unknown = answered.devloop("cache", "pull", "--from", "gs://nowhere/x")
    assert unknown.returncode != 0 and "no store 'gs://nowhere/x'" in unknown.stderr


def test_verify_names_a_bad_blob_and_delete_removes_it(answered):
    ok = answered.devloop("cache", "verify", "--store", "local")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "sound" in ok.stdout
    victim = next(iter(local(answered).blobs())).name
    path = answered.root / ".devloop/cache/v1/blobs" / victim[:2] / victim
    os.chmod(path, 0o644)
    path.write_bytes(b"something else\n")
    bad = answered.devloop("cache", "verify", "--store", "local")
    assert bad.returncode == 1
    assert f"blob {victim}" in bad.stdout and "whose sha256 is" in bad.stdout
    fixed = answered.devloop("cache", "verify", "--store", "local", "--delete")
    assert fixed.returncode == 1 and "(removed)" in fixed.stdout
    again = answered.devloop("cache", "verify", "--store", "local")
    assert again.returncode == 0 and "sound" in again.stdout, again.stdout


def test_gc_trims_least_recently_used_first(answered):
    store = local(answered)
    items = sorted(store.entries(), key=lambda i: i.mtime or 0)
    newest = items[-1].name
    keep = store.read_entry(newest)
    need = parse(keep, newest).blobs()
    size = len(keep) + sum(len(store.read_blob(s)) for s in need)
    r = answered.devloop("cache", "gc", "--max-bytes", str(size))
    assert r.returncode == 0, r.stderr
    left = [i.name for i in store.entries()]
    assert left == [newest], r.stdout
    assert sorted(i.name for i in store.blobs()) == sorted(need)
    r = answered.devloop("cache", "gc", "--max-bytes", "0")
    assert list(store.entries()) == [] and list(store.blobs()) == []


def test_a_cached_author_answer_out_of_reach_is_refused(answered):
    """An entry tampered to also write devloop.yaml is refused, named, and the implementer asked."""
    store = local(answered)
    plan = answered.read(f"{P}/plan.md")
    for item in store.entries():
        raw = json.loads(store.read_entry(item.name))
        if raw["step"] == "implement":
            evil = b"agents: {}\n"
            sha = hash_bytes(evil)
            store.write_blob(sha, evil)
            raw["files"]["devloop.yaml"] = sha
            path = answered.root / ".devloop/cache/v1/entries" / item.name[:2] / f"{item.name}.json"
            os.chmod(path, 0o644)
            path.write_text(json.dumps(raw))
    yaml_before = answered.read("devloop.yaml")
    edit_run_undo(answered, plan)
    n = len(answered.calls())
    r = answered.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("a", "implement", "implement") in answered.calls_since(n)
    assert "refused the cached answer" in r.stderr and "devloop.yaml" in r.stderr, r.stderr
    assert answered.read("devloop.yaml") == yaml_before


def test_a_store_agents_may_write_is_never_read(answered):
    """The shared folder lies under /tmp, which confined programs may write (sandbox_writable): an agent
    could leave answers there for questions to come, so it is not read; the local store is emptied."""
    store = local(answered)
    for item in list(store.entries()):
        store.delete_entry(item.name)
    assert len(list(open_store(str(answered.shared)).entries())) == 8
    plan = answered.read(f"{P}/plan.md")
    (answered.root / P / "plan.md").write_text(plan + "x\n")
    assert answered.doit().returncode == 0
    for item in list(store.entries()):
        store.delete_entry(item.name)
    (answered.root / P / "plan.md").write_text(plan)
    n = len(answered.calls())
    r = answered.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert [c for c in answered.calls_since(n) if c[1] == "plan_review"], "an untrusted store answered"
    assert r.stderr.count("which agents' programs may write; it is not read") == 1, r.stderr


def test_a_relative_folder_store_is_taken_from_the_workspace_wherever_a_command_runs(answered, tmp_path):
    """``../team-answers`` is one folder for `devloop` and `doit -k` run in a subfolder and at the top alike."""
    answered.config(extra="cache:\n  stores:\n    - {url: '../team-answers', push: true}\n")
    below = answered.root / "plans"
    r = answered.run([str(BIN / "devloop"), "cache", "push"], cwd=below)
    assert r.returncode == 0, r.stderr
    assert "8 answers copied to" in r.stdout and str(tmp_path / "team-answers") in r.stdout
    assert len(list(open_store(str(tmp_path / "team-answers")).entries())) == 8
    assert not (answered.root / "team-answers").exists() and not (below / "team-answers").exists()
    status = json.loads(answered.run([str(BIN / "devloop"), "cache", "status", "--json"], cwd=below).stdout)
    assert status["stores"][1]["url"] == str(tmp_path / "team-answers") and status["stores"][1]["answers"] == 8


def test_status_names_a_store_that_cannot_be_used_and_why(answered):
    answered.config(extra="cache:\n  stores:\n    - {url: 'nosuchfs://team/answers'}\n")
    r = answered.devloop("cache", "status")
    assert r.returncode == 0, r.stderr
    assert "shared nosuchfs://team/answers  (read): cannot be used here (" in r.stdout, r.stdout
    assert "fsspec knows no nosuchfs:// filesystem" in r.stdout
    assert answered.doit().returncode == 0  # a store that cannot be used never fails a run
