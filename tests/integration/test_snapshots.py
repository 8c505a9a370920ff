"""Whole features put back from the answer cache at once (devloop.loop.snapshots).

Real `doit` and `devloop` processes, the scripted fake agent, the local store under .devloop/cache/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devloop.loop import snapshots
from devloop.provenance.cache.entries import Entry, parse
from devloop.provenance.cache.stores import open_store
from devloop.provenance.hashing import hash_bytes
from tests.conftest import WS


def kept(root: Path) -> dict[str, Entry]:
    """The feature snapshots in the workspace's local store, by feature."""
    store = open_store(str(root / ".devloop/cache"))
    out = {}
    for item in store.entries():
        entry = parse(store.read_entry(item.name) or b"", item.name)
        if entry.kind == "feature":
            out[entry.call] = entry
    return out


def outputs_of(root: Path, feature: str) -> dict[str, bytes]:
    """Every file a's steps wrote (the lock too): all but the brief in its folder, its code and smoke script."""
    out = {}
    for folder, dirs, names in os.walk(root / "plans" / feature):
        dirs[:] = [d for d in dirs if d != ".history"]
        for n in names:
            p = Path(folder) / n
            if n != "brief.md":
                out[p.relative_to(root).as_posix()] = p.read_bytes()
    for rel in (f"src/{feature}.py", f"scripts/smoke/{feature}.sh"):
        out[rel] = (root / rel).read_bytes()
    return out


def ledger(root: Path) -> list[dict]:
    return [json.loads(x) for x in (root / "runs/ledger.jsonl").read_text().splitlines() if x.strip()]


@pytest.fixture
def built(ws: WS) -> WS:
    ws.config()
    ws.add_feature("a")
    ws.add_feature("b")
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    return ws


def test_a_proven_feature_leaves_its_snapshot_and_a_feature_without_lock_is_put_back_whole(built: WS) -> None:
    snaps = kept(built.root)
    assert sorted(snaps) == ["a", "b"]
    a = snaps["a"]
    assert "plans/a/devloop.lock" in a.files and "src/a.py" in a.files and "plans/a/brief.md" not in a.files
    assert a.executable == ["scripts/smoke/a.sh"]
    answered = [e for e in ledger(built.root) if e["feature"] == "a" and e["status"] == "answered"]
    assert len(a.records) == len(answered) == 10  # the happy script's ten calls, each with its cost
    before = outputs_of(built.root, "a")
    assert before["plans/a/devloop.lock"].rsplit(b"\n", 2)[-2].startswith(b"# devloop proof: ")
    for rel in before:
        (built.root / rel).unlink()
    calls, lines = len(built.calls()), len(ledger(built.root))
    r = subprocess.run(
        [sys.executable, "-m", "doit"], cwd=built.root, env={**built.env, "DEVLOOP_FAST_PATH": "trace"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(built.calls()) == calls  # no agent asked
    assert r.stdout == (
        "Restored from the answer cache: 1 feature whole (locks and files as first answered, 10 answers); "
        "no agent was called for them.\nEverything is up to date (14 steps); no agent was called.\n"
    )
    assert "fast path (14 steps proven up to date;" in r.stderr  # by the proof just put back
    journal = (built.root / ".devloop/journal.log").read_text()  # no agent could run: the writes need no note
    assert not [line for line in journal.splitlines() if "\tplans/a/" in line or "\tsrc/a.py" in line]
    assert outputs_of(built.root, "a") == before  # byte for byte, the lock with its proof too
    assert os.access(built.root / "scripts/smoke/a.sh", os.X_OK)
    new = ledger(built.root)[lines:]
    assert len(new) == 10 and {e["status"] for e in new} == {"restored"} and {e["feature"] for e in new} == {"a"}
    assert all("with its whole feature" in e["detail"] for e in new)
    assert sorted((e["step"], e["call"]) for e in new) == sorted((e["step"], e["call"]) for e in answered)
    cost = json.loads(built.devloop("cost", "--by", "feature", "--json").stdout)
    assert cost["a"]["restored"] == 10 and cost["a"]["calls"] == 10 and cost["b"]["restored"] == 0
    built.env["DEVLOOP_FAST_PATH"] = "0"
    full = built.doit()
    assert full.stdout == "Everything is up to date (14 steps); no agent was called.\n"
    assert len(built.calls()) == calls


def test_a_snapshot_is_not_used_over_other_bytes_or_when_its_proof_does_not_hold(built: WS) -> None:
    before = outputs_of(built.root, "a")
    for rel in before:
        (built.root / rel).unlink()
    (built.root / "src/a.py").write_text("print('mine')\n")  # a file of the snapshot, with other bytes
    r = built.doit()
    assert "the snapshot of a from" in r.stderr and "src/a.py is there with other content" in r.stderr
    assert "Restored from the answer cache" not in r.stdout and "Step: plan:a" in r.stdout


def test_a_snapshot_whose_proof_does_not_hold_here_leaves_nothing_behind(built: WS) -> None:
    before = outputs_of(built.root, "a")
    for rel in before:
        (built.root / rel).unlink()
    (built.root / "deploy/a").mkdir(parents=True)  # the proof says deploy/a/ was missing: deploy review rests on it
    (built.root / "deploy/a/service.yaml").write_text("kind: Service\n")
    script = dict(built.script)
    script["deploy_review"] = {"answer": "VOTE: PRODUCTION GRADE\n"}
    built.set_script(script)
    r = built.doit()
    assert "its proof does not hold here" in r.stderr, r.stderr
    assert "Restored from the answer cache" not in r.stdout and "Step: plan:a" in r.stdout


def test_a_snapshot_that_writes_outside_its_feature_s_reach_is_refused(built: WS, tmp_path: Path) -> None:
    """An entry naming devloop.yaml (or another feature's folder) is never written, whatever its proof."""
    snap = kept(built.root)["a"]
    store = open_store(str(built.root / ".devloop/cache"))
    data = b"agents: {}\n"
    for bad in ("devloop.yaml", "plans/b/plan.md", ".git/config", "plans/a/.history/x", "templates/plan.md.j2"):
        assert not snapshots.may_write("a", bad)
    files = {**snap.files, "devloop.yaml": hash_bytes(data)}
    forged = Entry(snap.key, snap.step, snap.role, snap.call, snap.kind, files=files, records=snap.records)
    shutil.rmtree(built.root / ".devloop/cache/v1/entries")  # the genuine entry goes; the forged one takes its key
    blobs = {hash_bytes(data): data}
    for rel, sha in snap.files.items():
        blobs[sha] = outputs_of(built.root, "a")[rel]
    from devloop.provenance.cache import upkeep

    assert upkeep.put(store, snap.key, forged.to_bytes(), blobs)
    config = (built.root / "devloop.yaml").read_bytes()
    for rel in outputs_of(built.root, "a"):
        (built.root / rel).unlink()
    r = subprocess.run(
        [sys.executable, "-c", "import sys; from devloop.loop import snapshots; from devloop.config.workspace import "
         "Workspace; from pathlib import Path; print(snapshots.restore(Workspace(Path('.').resolve()), 'a'))"],
        cwd=built.root, env=built.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.stdout.strip() == "0" and "it writes devloop.yaml" in r.stderr, r.stdout + r.stderr
    assert (built.root / "devloop.yaml").read_bytes() == config
    assert not (built.root / "plans/a/devloop.lock").exists()
