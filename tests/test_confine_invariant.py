"""The confinement invariant under random writes: after a call, every path out of the reach is as it was.

Hypothesis draws a program's writes (files anywhere in the tree, appends,
deletes, new top-level folders, symbolic links, hard links, renames of
whole folders); a real subprocess makes them, confined by a
:class:`devloop.confine.watch.Box` as an implementer, a planner or a judge,
with bubblewrap and with the snapshot layer alone (``sandbox: off``).
Afterwards every path out of the reach is byte-identical to before (mode
and link target included) and no path out of the reach has appeared.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devloop.config.workspace import Workspace
from devloop.confine import reach as R
from devloop.confine.watch import Box

TREE = {
    ".git/config": "[core]\n\tbare = false\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    ".git/hooks/pre-commit.sample": "#!/bin/sh\n",
    ".git/refs/heads/main": "0" * 40 + "\n",
    ".git/objects/ab/cdef": "blob",
    ".git/info/exclude": "# nothing\n",
    "runs/ledger.jsonl": '{"call": 1}\n{"call": 2}\n',
    ".devloop/cache/config.json": "{}\n",
    "plans/a/brief.md": "Build a.\n",
    "plans/a/plan.md": "# Plan a\n",
    "plans/a/devloop.lock": "{}\n",
    "plans/a/reviews/round1-x.md": "VOTE: NEEDS WORK\n",
    "plans/b/brief.md": "Build b.\n",
    "plans/b/plan.md": "# Plan b\n",
    "scripts/smoke/b.sh": "#!/bin/sh\nexit 0\n",
    "devloop.yaml": "agents: {}\n",
    "dodo.py": "from devloop.tasks import setup\nsetup(globals())\n",
    "src/app.py": "print('app')\n",
    "src/pkg/mod.py": "X = 1\n",
    ".gitignore": "build/\n",
}
PATHS = sorted(
    {
        *TREE,
        ".git/hooks/post-checkout",
        ".git/config.lock",
        ".devloop/verdicts.json",
        "runs/a/smoke.log",
        "plans/a/deviations.md",
        "plans/a/reviews.md",
        "plans/a/.history/x/plan.md",
        "plans/c/brief.md",
        "scripts/smoke/a.sh",
        "templates/code_review.md.j2",
        ".github/workflows/ci.yml",
        "src/new.py",
        "build/out.bin",
        "newtop/x.txt",
        "vendor/.git/config",
    }
)
FOLDERS = sorted({p.rsplit("/", 1)[0] for p in PATHS if "/" in p} | {"newtop", "plans_old"})

# One program: a list of operations the subprocess below makes, each allowed to fail.
ACT = """
import json, os, shutil, sys
for op, a, b in json.loads(sys.argv[1]):
    try:
        if op == "write":
            os.makedirs(os.path.dirname(a) or ".", exist_ok=True)
            open(a, "w").write(b)
        elif op == "append":
            open(a, "a").write(b)
        elif op == "delete":
            shutil.rmtree(a) if os.path.isdir(a) and not os.path.islink(a) else os.unlink(a)
        elif op == "symlink":
            os.makedirs(os.path.dirname(a) or ".", exist_ok=True)
            os.symlink(b, a)
        elif op == "hardlink":
            os.makedirs(os.path.dirname(b) or ".", exist_ok=True)
            os.link(a, b)
            open(b, "a").write("through the link\\n")
        elif op == "rename":
            os.rename(a, b)
        elif op == "chmod":
            os.chmod(a, 0o777)
    except OSError:
        pass
"""

ops = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(PATHS), st.text(max_size=20)),
    st.tuples(st.just("append"), st.sampled_from(PATHS), st.text(min_size=1, max_size=20)),
    st.tuples(st.just("delete"), st.sampled_from(PATHS + FOLDERS), st.just("")),
    st.tuples(st.just("symlink"), st.sampled_from(PATHS), st.sampled_from(["/etc", "../outside", "src/app.py"])),
    st.tuples(st.just("hardlink"), st.sampled_from(list(TREE)), st.sampled_from(PATHS)),
    st.tuples(st.just("rename"), st.sampled_from(FOLDERS), st.sampled_from(["plans_old", "moved", "src/inner"])),
    st.tuples(st.just("chmod"), st.sampled_from(list(TREE)), st.just("")),
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "ws"
    for rel, text in TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "scripts/smoke/b.sh").chmod(0o755)
    for layer in ("bubblewrap", "off"):  # devloop's own lock files exist from here on, as in a used workspace
        ws = workspace(root, layer)
        with Box(ws, R.Reach(root, R.IMPLEMENTER, "a"), layer, say=False).watching():
            pass
    return root


def state(root: Path, reach: R.Reach) -> dict[str, Any]:
    """Every path out of the reach: its type, mode, content or link target."""
    out: dict[str, Any] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if reach.why_not(rel) is None:
                continue
            st_ = path.lstat()
            if stat.S_ISLNK(st_.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st_.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", stat.S_IMODE(st_.st_mode), path.read_bytes())
    return out


def workspace(root: Path, layer: str) -> Workspace:
    ws = Workspace(root)
    ws.memo["control-files"] = frozenset({"devloop.yaml", "dodo.py", "templates/code_review.md.j2"})
    ws.__dict__["config"] = type("C", (), {"sandbox_writable": [str(root.parent)], "sandbox": layer})()
    return ws


def one_call(pristine: Path, tmp: Path, layer: str, kind: str, program: list[tuple[str, str, str]]) -> None:
    if tmp.exists():
        shutil.rmtree(tmp)
    root = tmp / "ws"
    shutil.copytree(pristine, root, symlinks=True)
    ws = workspace(root, layer)
    expected = {
        R.IMPLEMENTER: ["plans/a/deviations.md", "scripts/smoke/a.sh"],
        R.PLANNER: ["plans/a/plan.md", "plans/a/validation.md"],
        R.JUDGE: [],
    }[kind]
    reach = R.Reach(root, kind, "a", frozenset(expected), ws.memo["control-files"])
    before = state(root, reach)
    box = Box(ws, reach, layer, history=tmp / "history", say=False)
    argv = [sys.executable, "-c", ACT, json.dumps(program)]
    with box.watching():
        subprocess.run(box.wrap(argv, root, dict(os.environ)), cwd=root, check=False, timeout=60, capture_output=True)
    after = state(root, reach)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"{layer} {kind}: out of reach and changed: {changed} after {program}"


@pytest.mark.parametrize("layer", ["bubblewrap", "off"])
@pytest.mark.parametrize("kind", [R.IMPLEMENTER, R.PLANNER, R.JUDGE])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=st.lists(ops, min_size=1, max_size=8))
def test_every_path_out_of_reach_is_byte_identical_after_a_call(
    pristine: Path, tmp_path: Path, layer: str, kind: str, program: list[tuple[str, str, str]]
) -> None:
    one_call(pristine, tmp_path / "call", layer, kind, program)
