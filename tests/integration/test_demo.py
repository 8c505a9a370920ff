"""The README's first command: the offline example, end to end."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_loop_and_reruns_only_what_a_plan_edit_invalidates() -> None:
    r = subprocess.run([str(ROOT / "scripts/demo")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    work = Path(re.search(r"cd (/\S+devloop-demo\.\S+)", out).group(1))
    try:
        assert out.count("Next: hello-cli has been through the whole loop") == 2
        assert "Everything is up to date (7 steps); no agent was called." in out
        assert "hello-cli:plan (hand edit adopted, no agent called)" in out
        calls = [json.loads(line) for line in (work / "runs/ledger.jsonl").read_text().splitlines()]
        first = [c["call"] for c in calls[:10]]
        assert first == [
            "plan",
            "round1-review",
            "round1-revise",
            "round2-review",
            "implement",
            "round1-judge",
            "round1-verify",
            "round1-fix",
            "round2-judge",
            "evaluate",
        ]
        assert [c["step"] for c in calls[10:]] == ["plan_review", "implement", "code_review", "evaluate"]
        smoke = subprocess.run([str(work / "scripts/smoke/hello-cli.sh")], cwd=work, capture_output=True, text=True)
        assert smoke.returncode == 0, smoke.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)
