"""A feature's proof line: written by the run that settles it, read by a fresh clone instead of judging its steps."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devloop.provenance import proof
from tests.conftest import WS
from tests.integration.test_fast_path import settled, settled_once  # noqa: F401 - the fixtures, shared

STEPS = ["plan", "plan_review", "red_team", "implement", "code_review", "deploy_review", "evaluate"]
TRACE = re.compile(
    r"fast path \((\d+) steps proven up to date; (\d+) features by their proof, (\d+) files hashed,"
    r" (\d+) proven by git's index\)"
)


def clone_of(ws: WS, where: Path) -> Path:
    """The workspace committed and cloned, the clone's index refreshed past its files' timestamp tick."""
    ws.git("add", "-A")
    ws.git("commit", "-qm", "loop")
    assert ws.run(["git", "clone", "-q", str(ws.root), str(where)]).returncode == 0
    time.sleep(0.05)
    assert ws.run(["git", "update-index", "--refresh"], cwd=where).returncode == 0
    return where


def doit(ws: WS, where: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], tuple[int, ...] | None]:
    env = {**ws.env, "DEVLOOP_FAST_PATH": "trace"}
    r = subprocess.run(
        [sys.executable, "-m", "doit", *args], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )
    said = TRACE.search(r.stderr)
    return r, tuple(int(x) for x in said.groups()) if said else None


def test_a_run_that_settles_a_feature_leaves_its_lock_a_proof_of_every_step(settled: WS) -> None:  # noqa: F811
    for feature in ("a", "b"):
        raw = (settled.root / f"plans/{feature}/devloop.lock").read_bytes()
        body, found = proof.split(raw)
        assert found is not None and raw.endswith(b"\n") and raw.count(proof.MARK) == 1
        assert found["answers"] == {s: ["fresh", []] for s in STEPS}
        assert found["stamp"] == proof.stamp(settled.root, again=True)
        assert f"plans/{feature}/plan.md" in found["files"] and f"plans/{feature}/devloop.lock" not in found["files"]
        assert found["files"][f"deploy/{feature}"] == ""  # a folder that is not there is recorded as missing
        assert all(not p.startswith("/") for p in found["files"])
        for rel, blob in found["files"].items():
            if blob and not blob.startswith("d:"):
                got = settled.run(["git", "hash-object", rel]).stdout.strip()
                assert got == blob, rel
        assert json.loads(body[body.index(b"{") :])["steps"]  # the records are plain JSON without it


def test_a_fresh_clone_takes_the_fast_path_on_the_proofs_alone(settled: WS, tmp_path: Path) -> None:  # noqa: F811
    """No memo, no config cache, no doit database: each feature's proof is checked against git's index, no file
    is read or hashed, devloop.yaml is not validated again (pydantic is not imported), no agent is called."""
    clone = clone_of(settled, tmp_path / "clone")
    calls = len(settled.calls())
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "doit"], cwd=clone,
        env={**settled.env, "DEVLOOP_FAST_PATH": "trace"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.stdout == "Everything is up to date (14 steps); no agent was called.\n", r.stdout + r.stderr
    said = TRACE.search(r.stderr)
    assert said and said.groups() == ("14", "2", "0", "0"), r.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "pydantic" not in imported and "devloop.config.models" not in imported
    assert not (clone / ".devloop/config-cache.json").exists()
    assert len(settled.calls()) == calls
    assert settled.run(["git", "status", "--porcelain"], cwd=clone).stdout == ""  # nothing committed changed


def test_without_proofs_a_fresh_clone_is_judged_step_by_step_with_git_vouching_for_files(
    settled: WS,  # noqa: F811
    tmp_path: Path,
) -> None:
    clone = clone_of(settled, tmp_path / "clone")
    for feature in ("a", "b"):
        lock = clone / f"plans/{feature}/devloop.lock"
        lock.write_bytes(proof.split(lock.read_bytes())[0])
    r, said = doit(settled, clone)
    assert r.stdout == "Everything is up to date (14 steps); no agent was called.\n", r.stdout + r.stderr
    assert said is not None and said[:3] == (14, 0, 0) and said[3] >= 10, r.stderr


@pytest.mark.parametrize("change", ["plan", "config", "lock", "link", "deploy", "untracked-edit"])
def test_whatever_a_proof_rests_on_changed_it_does_not_hold(
    settled: WS,  # noqa: F811
    tmp_path: Path,
    change: str,
) -> None:
    """Each change below makes feature a's proof fail; b's still holds. The run then does what the full
    judgement says (an edit re-runs the steps behind it) and never takes a's proof for an answer."""
    clone = clone_of(settled, tmp_path / "clone")
    if change == "plan":
        (clone / "plans/a/plan.md").write_text("# Plan\nDo it better.\n")
    elif change == "config":  # the same config in meaning; the stamp holds its bytes: every proof fails
        with (clone / "devloop.yaml").open("a") as fh:
            fh.write("# a comment\n")
    elif change == "lock":  # the records a proof was judged from are edited (by hand, against the header)
        lock = clone / "plans/a/devloop.lock"
        lock.write_bytes(lock.read_bytes().replace(b'"sha256"', b'"sha256" ', 1))
    elif change == "link":  # the same bytes, reached through a link
        code = next(p for p in proof.split((clone / "plans/a/devloop.lock").read_bytes())[1]["files"] if "src/" in p)
        real = tmp_path / "elsewhere.py"
        shutil.copyfile(clone / code, real)
        (clone / code).unlink()
        os.symlink(real, clone / code)
    elif change == "deploy":  # a folder recorded as missing appears
        (clone / "deploy/a").mkdir(parents=True)
        (clone / "deploy/a/run.sh").write_text("echo deploy\n")
    elif change == "untracked-edit":  # same size, same mtime: git's index sees it racily clean, the proof reads it
        path = clone / "plans/a/validation.md"
        st = path.stat()
        text = path.read_bytes()
        path.write_bytes(text[:-2] + (b"X\n" if text[-2:-1] != b"X" else b"Y\n"))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    r, said = doit(settled, clone)
    assert r.returncode == 0, r.stdout + r.stderr
    steps = [x.split()[1] for x in r.stdout.splitlines() if x.startswith("Step: ")]
    if change in ("config", "lock"):  # judged from the locks (a's, or every one), and still up to date
        assert said is not None and said[:3] == (14, 0 if change == "config" else 1, 0) and said[3] > 0, r.stderr
        assert steps == []
    else:  # the full graph, and exactly what the change asks of feature a
        assert said is None, r.stderr
        first = {"plan": "plan:a", "untracked-edit": "plan:a", "link": "code_review:a", "deploy": "deploy_review:a"}
        assert steps and steps[0] == first[change] and all(s.endswith(":a") for s in steps), r.stdout


def test_a_broken_devloop_yaml_in_a_fresh_clone_is_one_error_with_nothing_written(
    settled: WS,  # noqa: F811
    tmp_path: Path,
) -> None:
    clone = clone_of(settled, tmp_path / "clone")
    (clone / "devloop.yaml").write_text("roles: [this is not a mapping\n")
    r, said = doit(settled, clone)
    assert r.returncode != 0 and said is None
    assert r.stderr.count("devloop: error:") == 1 and "devloop.yaml" in r.stderr, r.stderr
    assert not (clone / ".devloop").exists()


def test_a_run_that_edits_a_feature_proves_it_again_and_the_lock_reader_ignores_the_line(
    settled: WS,  # noqa: F811
) -> None:
    lock = settled.root / "plans/a/devloop.lock"
    before = proof.split(lock.read_bytes())[1]
    (settled.root / "plans/a/plan.md").write_text("# Plan\nDo it better.\n")
    r = settled.doit()
    assert r.returncode == 0 and "Step: plan_review:a" in r.stdout, r.stdout + r.stderr
    _, after = proof.split(lock.read_bytes())
    assert after is not None and before is not None and after["body"] != before["body"]
    assert after["files"]["plans/a/plan.md"] != before["files"]["plans/a/plan.md"]
    r, said = doit(settled, settled.root)  # the memo has no answer for a's new files yet: a's proof answers
    assert r.stdout == "Everything is up to date (14 steps); no agent was called.\n", r.stdout + r.stderr
    assert said is not None and said[:3] == (14, 1, 0), r.stderr
    assert settled.devloop("status").returncode == 0
    r = settled.run([sys.executable, "-c", "import sys; from devloop.provenance.lockfile import read_lock; "
                     "from pathlib import Path; print(read_lock(Path(sys.argv[1]), 'a').steps['plan'].state)",
                     str(lock)])  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == "done", r.stderr


def plain_doit(ws: WS, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doit"], cwd=ws.root, env={**ws.env, **env}, capture_output=True, text=True, timeout=120
    )


def test_proofs_all_proves_every_feature_and_0_writes_none(settled: WS) -> None:  # noqa: F811
    locks = [settled.root / f"plans/{f}/devloop.lock" for f in ("a", "b")]
    for lock in locks:  # as a devloop upgrade leaves them: proofs the new devloop does not take
        lock.write_bytes(proof.split(lock.read_bytes())[0])
    r = plain_doit(settled, {"DEVLOOP_PROOFS": "all"})
    assert r.returncode == 0 and "devloop: 2 of 2 features proven" in r.stdout, r.stdout + r.stderr
    assert all(proof.split(lock.read_bytes())[1] is not None for lock in locks)
    (settled.root / "plans/a/plan.md").write_text("# Plan\nDo it better.\n")
    r = plain_doit(settled, {"DEVLOOP_PROOFS": "0"})
    assert r.returncode == 0 and "Step: plan_review:a" in r.stdout, r.stdout + r.stderr
    assert proof.split(locks[0].read_bytes())[1] is None and proof.split(locks[1].read_bytes())[1] is not None
