"""A no-op doit that the verdict memo proves: doit is given the loop's group tasks only, and says the same."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import WS
from tests.integration.test_verdict_memo import age

# doit in the workspace's own process, then what the fast path found (None: the full graph was built)
PROBE = """
import json, sys
from doit.doit_cmd import DoitMain
from devloop.loop import tasks
sys.argv = ["doit", *sys.argv[1:]]
code = DoitMain().run(sys.argv[1:])
print("PROBE " + json.dumps({"code": code, "settled": tasks.FAST.get("settled")}), file=sys.stderr)
"""


def probe(ws: WS, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ws.root, env={**ws.env, **(env or {})},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    line = next(x for x in r.stderr.splitlines() if x.startswith("PROBE "))
    return r, json.loads(line[len("PROBE ") :])


@pytest.fixture(scope="session")
def settled_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two features through the whole loop, built once per test process: each test gets a copy (14 agent calls
    and a dozen processes each time would cost the suite minutes)."""
    tmp = tmp_path_factory.mktemp("settled")
    ws = WS(tmp / "ws", tmp)
    ws.root.mkdir()
    assert ws.git("init", "-q").returncode == 0 and ws.devloop("init").returncode == 0
    ws.config()
    ws.add_feature("a")
    ws.add_feature("b")
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp


@pytest.fixture
def settled(settled_once: Path, tmp_path: Path) -> WS:
    """A copy of the two built features, and one more doit so the memo holds every verdict of the copy.

    A copy's files have new inodes and ctimes, which no verdict of the original's memo matches: the doit
    after the pause judges every step again from the locks and keeps each verdict, as after a build."""
    for name in ("ws", "home"):
        shutil.copytree(settled_once / name, tmp_path / name, symlinks=True)
    for name in ("script.json", "calls.jsonl"):
        shutil.copy2(settled_once / name, tmp_path / name)
    ws = WS(tmp_path / "ws", tmp_path)
    ws.script = json.loads(ws.script_path.read_text())
    calls = len(ws.calls())
    age(ws.root)  # the memo keeps only verdicts on files settled past the racy window
    assert "Everything is up to date" in ws.doit().stdout
    assert len(ws.calls()) == calls  # the copy asked no agent
    return ws


@pytest.mark.parametrize("args", [(), ("-n", "2"), ("-v2",), ("-n", "2", "-P", "thread"), ("--continue",)])
def test_a_proven_no_op_builds_no_step_task_and_says_what_the_full_graph_says(
    settled: WS, args: tuple[str, ...]
) -> None:
    calls = len(settled.calls())
    fast, seen = probe(settled, *args)
    assert seen == {"code": 0, "settled": 14}  # 2 features x 7 steps (a plain doit never builds smoke)
    full, off = probe(settled, *args, env={"DEVLOOP_FAST_PATH": "0"})
    assert off == {"code": 0, "settled": None}
    assert fast.stdout == full.stdout == "Everything is up to date (14 steps); no agent was called.\n"
    assert len(settled.calls()) == calls


@pytest.mark.parametrize(
    "args",
    [("list",), ("info", "plan:a"), ("plan:a",), ("plans/a/plan.md",), ("smoke",), ("-a",), ("-s", "plan:a"),
     ("forget", "plan:a"), ("x=1",)],
)  # fmt: skip
def test_anything_but_a_plain_run_takes_the_full_graph(settled: WS, args: tuple[str, ...]) -> None:
    _, seen = probe(settled, *args)
    assert seen["settled"] is None


def test_an_edit_a_deleted_output_or_a_new_feature_builds_that_feature_s_tasks_only(settled: WS) -> None:
    """A partial graph: the features not up to date, the others' steps counted as proven (7 each)."""
    (settled.root / "plans/a/plan.md").write_text("# Plan\nDo it better.\n")
    r, seen = probe(settled)
    assert seen["settled"] == 7 and "Step: plan_review:a" in r.stdout and ":b" not in r.stdout
    age(settled.root)
    # the memo had only feature b's verdicts: a's are judged from its lock (and kept), and the run is fast
    assert probe(settled)[1]["settled"] == 14
    assert probe(settled)[1]["settled"] == 14
    (settled.root / "plans/b/evaluation.md").unlink()
    r, seen = probe(settled)
    assert seen["settled"] == 7 and "Step: evaluate:b" in r.stdout
    settled.devloop("new", "c", "Build c")
    r, seen = probe(settled)
    assert seen["settled"] == 14 and "Step: plan:c" in r.stdout
    for args in (("-n", "2"), ("--continue",), ("-n", "2", "-P", "thread")):  # only a plain run stops at a failure
        (settled.root / "plans/b/evaluation.md").unlink()
        r, seen = probe(settled, *args)
        assert seen["settled"] is None and "Step: evaluate:b" in r.stdout


def test_a_partial_graph_prints_what_the_full_graph_prints_and_leaves_doit_s_database_alike(
    settled: WS, tmp_path: Path
) -> None:
    """The same edit in two copies of one workspace: one run by a partial graph, one by the full graph."""
    (settled.root / "plans/b/plan.md").write_text("# Plan\nDo it better.\n")
    twin = tmp_path / "twin"
    shutil.copytree(settled.root, twin, symlinks=True)
    part, seen = probe(settled)
    assert seen["settled"] == 7, part.stderr
    settled.root, mine = twin, settled.root
    try:
        full, off = probe(settled, env={"DEVLOOP_FAST_PATH": "0"})
    finally:
        settled.root = mine
    assert off["settled"] is None
    assert part.stdout == full.stdout and part.returncode == full.returncode == 0
    assert part.stdout.count("Step: ") == 7 and ":a" not in part.stdout  # every step of b (plan: the edit adopted)
    db = json.loads((settled.root / ".devloop/doit.db").read_text())
    assert not [k for k in db if k.startswith("_")]  # the check of the rest leaves nothing in doit's database
    again, seen = probe(settled, env={"DEVLOOP_FAST_PATH": "0"})
    assert seen["settled"] is None and "Everything is up to date (14 steps)" in again.stdout


def test_an_implementer_that_changes_another_feature_s_code_reruns_that_review_in_the_same_run(settled: WS) -> None:
    """doit runs every implementer before any code review: a partial graph checks the left-out features after."""
    script = dict(settled.script)
    script["a/implement/implement"] = {
        "write": {
            "src/a.py": "print('a, again')\n",
            "src/b.py": "print('b, rewritten by a')\n",
            "plans/a/deviations.md": "Touched b too.\n",
        }
    }
    settled.set_script(script)
    (settled.root / "plans/a/plan.md").write_text("# Plan\nDo it, and b's part too.\n")
    calls = len(settled.calls())
    r, seen = probe(settled, env={"DEVLOOP_FAST_PATH": "trace"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "devloop: partial graph (a;" in r.stderr
    assert "Step: code_review:a" in r.stdout and "Step: code_review:b" in r.stdout
    assert r.stdout.index("Step: evaluate:a") < r.stdout.index("Step: code_review:b")
    reviewed = [(f, s) for f, s, _ in settled.calls_since(calls) if s == "code_review"]
    assert ("b", "code_review") in reviewed
    assert seen["settled"] + r.stdout.count("Step: ") + r.stdout.count("up to date") >= 7
    after, off = probe(settled, env={"DEVLOOP_FAST_PATH": "0"})
    assert off["settled"] is None and "Everything is up to date (14 steps)" in after.stdout, after.stdout
    assert len(settled.calls()) == calls + len(settled.calls_since(calls))


def test_a_task_of_the_user_s_own_or_always_execute_in_a_setting_takes_the_full_graph(settled: WS) -> None:
    dodo = settled.root / "dodo.py"
    plain = dodo.read_text()
    dodo.write_text(plain + "\n\ndef task_hello():\n    return {'actions': ['true']}\n")
    r, seen = probe(settled)
    assert seen["settled"] is None and r.returncode == 0
    dodo.write_text(plain)
    (settled.root / "doit.cfg").write_text("[GLOBAL]\nalways_execute = True\n")
    assert probe(settled)[1]["settled"] is None
    (settled.root / "doit.cfg").unlink()
    age(settled.root)
    probe(settled)  # a full run settles what the -a run above re-judged
    assert probe(settled)[1]["settled"] == 14


def test_the_full_run_after_a_fast_one_finds_doit_s_database_as_it_left_it(settled: WS) -> None:
    db = settled.root / ".devloop/doit.db"
    before, written = db.read_bytes(), db.stat().st_mtime_ns
    assert probe(settled)[1]["settled"] == 14
    assert db.read_bytes() == before and db.stat().st_mtime_ns == written  # not even written back
    full, off = probe(settled, env={"DEVLOOP_FAST_PATH": "0"})
    assert off["settled"] is None and "Everything is up to date (14 steps)" in full.stdout


def test_doit_s_database_keeps_no_outcome_of_the_steps_a_run_made(ws: WS) -> None:
    """The reporter drops each outcome once it has read it: a later no-op by the fast path (which never runs
    the uptodate that would drop it) loads a database the size of the graph, not of the last build's answers."""
    ws.config()
    ws.add_feature("a")
    assert ws.doit().returncode == 0
    db = json.loads((ws.root / ".devloop/doit.db").read_text())
    ours = {name: rec for name, rec in db.items() if name.split(":")[0] in ("plan", "implement", "code_review")}
    assert ours and all(not rec.get("_values_:") and "result:" not in rec for rec in ours.values()), ours


NO_TOKENIZE = """
import sys, tokenize
from doit.doit_cmd import DoitMain
def refuse(*args, **kwargs):
    raise AssertionError("tokenized a source file")
tokenize.generate_tokens = refuse
sys.argv = ["doit", *sys.argv[1:]]
sys.exit(DoitMain().run(sys.argv[1:]))
"""


@pytest.mark.parametrize("args", [(), ("list",)])
def test_doit_orders_devloop_s_creator_without_tokenizing_a_source_file(settled: WS, args: tuple[str, ...]) -> None:
    """doit asks inspect for each creator's line; for devloop's, inspect reads dodo.py as a module (line 0)."""
    r = subprocess.run(
        [sys.executable, "-c", NO_TOKENIZE, *args], cwd=settled.root, env=settled.env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("Everything is up to date (14 steps)" if not args else "plan_review") in r.stdout


COUNT_READS = """
import json, sys
from doit.dependency import JsonDB
from doit.doit_cmd import DoitMain
from devloop.loop import tasks
read = []
real = JsonDB._load
def counting(self):
    read.append(self.name)
    return real(self)
JsonDB._load = counting
sys.argv = ["doit", *sys.argv[1:]]
code = DoitMain().run(sys.argv[1:])
print("PROBE " + json.dumps({"code": code, "settled": tasks.FAST.get("settled"), "read": read}), file=sys.stderr)
"""


def test_doit_s_database_is_read_only_when_the_full_graph_is_built(settled: WS) -> None:
    """While the fast path may answer doit starts from an empty database; the full graph reads the real one."""

    def run(env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict]:
        r = subprocess.run(
            [sys.executable, "-c", COUNT_READS], cwd=settled.root, env={**settled.env, **(env or {})},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return r, json.loads(next(x for x in r.stderr.splitlines() if x.startswith("PROBE "))[len("PROBE ") :])

    db = settled.root / ".devloop/doit.db"
    _, seen = run()
    assert seen["settled"] == 14 and seen["read"] == []
    _, seen = run({"DEVLOOP_FAST_PATH": "0"})
    assert seen["settled"] is None and seen["read"] == [str(db)]
    (settled.root / "plans/a/plan.md").write_text("# Plan\nDo it better.\n")  # the fast path finds it stale
    r, seen = run()
    assert seen["settled"] == 7 and seen["read"] == [str(db)] and seen["code"] == 0  # a partial graph reads it
    assert "Step: plan_review:a" in r.stdout
    assert "plan_review:a" in json.loads(db.read_text())  # written back where it was read
    assert not (settled.root / ".devloop/doit.db").is_dir()
