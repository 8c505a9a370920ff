"""A person plays every role and types each printed `Next:` exactly as printed, from the root or a subfolder.

Nothing here knows the loop's order: the typist reads the last `Next:` line, does what it says (writes
the files it names, at the paths as printed, relative to where the person stands; runs the commands it
names, as typed) and reads the next one, until `Next: nothing`. A second feature and the user's own doit
task sit in the same workspace the whole time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, WS

CHECKS = (
    "Ready when the service says so.\n\n"
    "```yaml devloop\n"
    "smoke:\n"
    "  - name: ready\n"
    "    command: {argv: [sh, -c, 'echo ready']}\n"
    "    expect: exit_code == 0 and 'ready' in stdout\n"
    "```\n"
)
EVALUATION = (
    "```yaml\nscores: {plan_quality: 5, review_usefulness: 4, implementation_drift: 5, trigger_correctness: 4}\n```\n"
)
USER_DODO = (
    "from devloop.tasks import setup\n\nsetup(globals())\n\n\n"
    "def task_hello():\n    return {'actions': ['echo hello from the user > hello.txt'], 'verbosity': 2}\n"
)


def answer(rel: str) -> str:
    """What the person writes into the file a prompt asks for (by its name, wherever the person stands)."""
    name = Path(rel).name
    if name == "plan.md":
        return "# Plan\n\nPrint a greeting; roll back by reverting the commit.\n"
    if name == "validation.md":
        return CHECKS
    if re.fullmatch(r"review-.*-round1\.md", name):
        return "- [P2] plans/a/plan.md:3 — say how the greeting is checked\n\nVERDICT: REVISE\n"
    if re.fullmatch(r"review-.*-round\d+\.md", name):
        return "The plan is small and complete.\n\nVERDICT: APPROVE\n"
    if re.fullmatch(r"round\d+-.*\.md", name):
        return "Read src/ and the smoke script; nothing to fix.\n\nVOTE: PRODUCTION GRADE\n"
    if name == "deviations.md":
        return "No deviations.\n"
    if name.endswith(".sh"):
        return "#!/bin/sh\nexit 0\n"
    if name == "deploy-review.md":
        return "Nothing to roll out beyond the code.\n\nVERDICT: APPROVE\n"
    if name == "evaluation.md":
        return EVALUATION
    raise AssertionError(f"the typist does not know what to write into {rel}")


class Typist:
    """Runs what `Next:` says, the way a person at a shell in ``cwd`` would."""

    def __init__(self, ws: WS, cwd: Path) -> None:
        self.ws, self.cwd = ws, cwd
        self.env = {**ws.env, "PATH": f"{BIN}{os.pathsep}{ws.env.get('PATH', '')}", "PWD": str(cwd)}
        self.seen: list[str] = []
        self.outputs: list[str] = []

    def sh(self, line: str) -> subprocess.CompletedProcess[str]:
        argv = shlex.split(line)
        assert argv[0] in ("doit", "devloop"), f"Next: names a command a person cannot type: {line!r}"
        return subprocess.run(argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=120)

    def follow(self, feature: str, first: str, limit: int = 40) -> None:
        """Type ``first``, then each `Next:` printed for ``feature`` (other features' lines are someone else's)."""
        r = self.sh(first)
        for _ in range(limit):
            out = r.stdout
            self.outputs.append(out)
            blocks = re.findall(r"^Step: \w+:(\S+).*\nArtifact: .*\nNext: (.*)$", out, flags=re.M)
            nexts = [n for f, n in blocks if f == feature] or re.findall(r"^Next: (.*)$", out, flags=re.M)
            assert nexts, f"no Next: after {self.seen[-1:]}:\n{out}\n{r.stderr}"
            nxt = nexts[-1]
            self.seen.append(nxt)
            if nxt.startswith("nothing"):
                assert r.returncode == 0, out + r.stderr
                return
            assert r.returncode == 0, f"{nxt}\n{out}\n{r.stderr}"
            r = self.do(nxt)
        raise AssertionError("the loop did not end:\n" + "\n".join(self.seen))

    def do(self, nxt: str) -> subprocess.CompletedProcess[str]:
        m = re.match(r"(write|revise) (.*?) \(prompt: (\S+)\), then (.*)$", nxt)
        if m:
            verb, files, prompt, then = m.groups()
            assert (self.cwd / prompt).is_file(), f"the prompt {prompt} is not where Next: says, from {self.cwd}"
            for rel in files.split(", "):
                path = self.cwd / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                text = answer(rel)
                if verb == "revise" and path.exists():
                    text = path.read_text() + "\nRevised as the review asked.\n"
                path.write_text(text)
                if rel.endswith("deviations.md"):  # the implementation itself: code of the person's own
                    code = self.cwd / os.path.relpath(self.ws.root / "src/greet.py", self.cwd)
                    code.parent.mkdir(parents=True, exist_ok=True)
                    code.write_text("print('hello')\n")
            return self.sh(then)
        command, _, _why = nxt.partition("  (")
        if command.startswith("devloop deployed "):
            self.sh(command).check_returncode()
            then = re.search(r"then (doit[^;)]*)", nxt)
            assert then, nxt
            return self.sh(then.group(1).strip())
        return self.sh(command)


@pytest.mark.parametrize("where", ["root", "subfolder"])
def test_a_person_plays_every_role_typing_each_next_as_printed(ws: WS, where: str) -> None:
    (ws.root / "devloop.yaml").write_text("")  # every role: the built-in manual agent `me`
    (ws.root / "dodo.py").write_text(USER_DODO)
    ws.add_feature("a", script=False)
    ws.add_feature("b", script=False)  # a second feature, waiting on its own plan the whole time
    cwd = ws.root if where == "root" else ws.root / "src" / "deep"
    cwd.mkdir(parents=True, exist_ok=True)
    typist = Typist(ws, cwd)

    typist.follow("a", "doit -k" if where == "subfolder" else "doit")
    assert any(n.startswith("devloop deployed a") for n in typist.seen), typist.seen
    assert any(n.startswith("revise ") for n in typist.seen)  # the plan review asked the person to revise
    said = "\n".join(typist.outputs)
    assert "hand edit adopted" not in said  # revising when asked is the loop's own edit, not a hand edit
    hello = typist.sh("doit -k hello" if where == "subfolder" else "doit hello")
    assert hello.returncode == 0 and (ws.root / "hello.txt").read_text() == "hello from the user\n"
    status = typist.sh("devloop status")
    assert status.returncode == 0
    b = [line for line in status.stdout.splitlines() if line.split()[:1] == ["b"]]
    assert b, status.stdout


def test_a_person_s_time_is_measured_from_the_prompt_to_the_saved_answer_and_reported_as_theirs(ws: WS) -> None:
    (ws.root / "devloop.yaml").write_text("")
    ws.add_feature("a", script=False)
    typist = Typist(ws, ws.root)
    r = typist.sh("doit")
    assert "write plans/a/plan.md" in r.stdout
    prompt = ws.root / ".devloop/prompts/a/plan-plan.md"
    asked = prompt.stat().st_mtime
    for rel in ("plans/a/plan.md", "plans/a/validation.md"):
        path = ws.root / rel
        path.write_text(answer(rel))
        os.utime(path, (asked + 300, asked + 300))  # saved five minutes after the prompt was written
    typist.follow("a", "doit")
    entries = [json.loads(line) for line in ws.read("runs/ledger.jsonl").splitlines()]
    plan = next(e for e in entries if e["step"] == "plan")
    assert plan["person"] is True and 299 <= plan["duration_s"] <= 301
    evaluation = ws.read("plans/a/evaluation.md")
    assert re.search(r"^agent_seconds: 0\.0$", evaluation, re.M)
    person = float(re.search(r"^person_seconds: (\S+)$", evaluation, re.M).group(1))
    assert person >= 300
    assert re.search(r"^\| plan \| \S+ \| 1 \| 0\.0 \| 30\d\.\d \|", evaluation, re.M), evaluation
    report = typist.sh("devloop report a")
    text = ws.read("plans/a/report.md")
    assert report.returncode == 0 and "0.00 s of agent time" in text
    assert re.search(r"\d+ answers by a person in 3\d\d s", text), text
    cost = json.loads(typist.sh("devloop cost --json").stdout)
    assert cost["a"]["person_seconds"] >= 300 and cost["a"]["seconds"] < 5 and cost["a"]["person_calls"] >= 5
    table = typist.sh("devloop cost").stdout
    assert "person time" in table.splitlines()[0]
