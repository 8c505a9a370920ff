"""Real agent CLIs inside devloop's sandbox (issue 24): they behave there as they do outside it.

The CLIs are the published packages (``scripts/real-clis`` installs codex,
claude and gemini from npm into .venv/clis; ``llm`` comes from PyPI with the
test extras). Nobody is logged in and no model host is reachable here, so
each ends the way it ends without an account: devloop reads the same
outcome, word for word, confined (bubblewrap) and not, as root and as an
unprivileged user. Then codex does real work: driven by a local stand-in
for its model (tests/fakes/responses_model.py) and with its own sandbox
switched off, it runs the shell command the model asks for, as an
implementer of a devloop workspace; what it writes in its reach is kept,
and its writes out of reach are refused by the operating system, or found
and put back by the snapshot layer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import WS

REPO = Path(__file__).resolve().parents[2]
NPM_BIN = REPO / ".venv" / "clis" / "node_modules" / ".bin"
RUN = REPO / "tests" / "fakes" / "run_confined.py"
MODEL = REPO / "tests" / "fakes" / "responses_model.py"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def program_dir(name: str) -> Path:
    """Where the real CLI ``name`` is installed, or skip (scripts/real-clis could not install it)."""
    folder = Path(sys.executable).parent if name == "llm" else NPM_BIN
    if not (folder / name).exists():
        pytest.skip(f"{name} is not installed here (scripts/real-clis installs it from npm)")
    return folder


def call(preset: str, folder: Path, kind: str, sandbox: str, user: str, timeout: float) -> dict[str, object]:
    """One call in a fresh workspace and home, as ``user``; the outcome devloop reads."""
    top = Path(tempfile.mkdtemp(prefix=f"devloop-cli-{preset}-", dir="/tmp"))
    try:
        (top / "home").mkdir()
        (top / "ws").mkdir()
        subprocess.run(["git", "init", "-q", str(top / "ws")], check=True)
        prefix: list[str] = []
        if user == "nobody":
            subprocess.run(["chown", "-R", "65534:65534", str(top)], check=True)
            os.chmod(top, 0o755)
            prefix = NOBODY
        env = {"PATH": os.environ["PATH"], "HOME": str(top / "home"), "LANG": "C.UTF-8", "TERM": "xterm"}
        argv = [*prefix, sys.executable, str(RUN), preset, str(folder), str(top / "ws"), kind, sandbox, str(timeout)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout + 60)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.strip().splitlines()[-1])
        detail = re.sub(r"/tmp/devloop-cli-[^/\s]+", "<TMP>", str(out["detail"]))
        # durations and ids vary, and devloop cuts a long line at a length: the words are what must not change
        out["detail"] = re.sub(r"\d+", "<N>", detail)[:150]
        return out
    finally:
        shutil.rmtree(top, ignore_errors=True)


# codex retries its network for ever: its timeout ends it (3 s), the same way in and out of the sandbox
CASES = [("claude", 60.0), ("gemini", 60.0), ("llm", 60.0), ("codex", 3.0)]


@pytest.mark.parametrize("kind", ["judge", "author"])
@pytest.mark.parametrize(("preset", "timeout"), CASES)
def test_a_real_cli_ends_the_same_way_confined_or_not(preset: str, timeout: float, kind: str) -> None:
    folder = program_dir(preset)
    ways = [("none", "root"), ("bubblewrap", "root")]
    if os.geteuid() == 0 and shutil.which("setpriv") and preset != "llm":  # llm runs on a Python only root reaches
        ways += [("bubblewrap", "nobody")]
    seen = {way: call(preset, folder, kind, *way, timeout) for way in ways}
    first = seen[ways[0]]
    assert first["status"] == "unavailable", first  # not logged in, or no network: never an answer
    for way, outcome in seen.items():
        assert outcome == first, f"{preset} {kind} {way}: {outcome} != {first}"


# -- codex at work -----------------------------------------------------------------------------------


@pytest.fixture
def codex_workspace(ws: WS, tmp_path: Path) -> tuple[WS, Path]:
    """A workspace whose implementer is the real codex, its own sandbox off, its model a local stand-in."""
    codex = program_dir("codex") / "codex"
    ws.add_feature("a")
    ws.add_feature("b")
    assert ws.doit("plan_review:a", "plan_review:b").returncode == 0
    home = Path(ws.env["HOME"])
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    argv = [
        str(codex), "exec", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check", "--ephemeral",
        "--color", "never", "-o", "{output_file}", "-",
    ]  # fmt: skip
    text = ws.read("devloop.yaml").replace(
        "agents:\n", f"agents:\n  codex: {{kind: command, argv: {json.dumps(argv)}, output: file, timeout: 60}}\n"
    )
    (ws.root / "devloop.yaml").write_text(text.replace("  implementer: author\n", "  implementer: codex\n"))
    return ws, home


def run_codex(ws: WS, home: Path, tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``doit implement:a`` while the stand-in model asks codex to run ``command``."""
    log = tmp_path / "model.jsonl"
    model = subprocess.Popen([sys.executable, str(MODEL), "0", str(log), command], stdout=subprocess.PIPE, text=True)
    try:
        port = int(model.stdout.readline()) if model.stdout else 0
        (home / ".codex" / "config.toml").write_text(
            'model = "stand-in"\nmodel_provider = "local"\n[model_providers.local]\nname = "local"\n'
            f'base_url = "http://127.0.0.1:{port}/v1"\nwire_api = "responses"\nrequires_openai_auth = false\n'
        )
        return ws.doit("implement:a")
    finally:
        model.terminate()
        model.wait(timeout=10)


GOOD_SHELL = (
    "mkdir -p src scripts/smoke && echo 'print(1)' > src/a.py && echo 'No deviations.' > plans/a/deviations.md"
    " && printf '#!/bin/sh\\nexit 0\\n' > scripts/smoke/a.sh"
)


@pytest.mark.parametrize("layer", ["bubblewrap", "off"])
def test_real_codex_keeps_its_work_and_nothing_out_of_its_reach(
    codex_workspace: tuple[WS, Path], tmp_path: Path, layer: str
) -> None:
    ws, home = codex_workspace
    (ws.root / "devloop.yaml").write_text(ws.read("devloop.yaml") + f"sandbox: {layer}\n")
    config, plan_b = ws.read(".git/config"), ws.read("plans/b/plan.md")
    hostile = "; printf '[core]\\n\\tfsmonitor = /tmp/pwn\\n' >> .git/config; echo pwned > plans/b/plan.md; true"
    r = run_codex(ws, home, tmp_path, GOOD_SHELL + hostile)
    assert ws.read(".git/config") == config and ws.read("plans/b/plan.md") == plan_b
    if layer == "bubblewrap":
        assert r.returncode == 0, r.stdout + r.stderr
        assert ws.read("src/a.py") == "print(1)\n"
        return
    assert r.returncode == 1 and ".git/config" in r.stdout and "plans/b/plan.md" in r.stdout, r.stdout
    r = run_codex(ws, home, tmp_path, GOOD_SHELL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ws.read("src/a.py") == "print(1)\n"
