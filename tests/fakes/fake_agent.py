#!/usr/bin/env python3
"""A scripted stand-in for a real agent CLI, driven by a JSON file.

FAKE_AGENT_SCRIPT names a JSON object mapping call keys to actions. The first
key found wins, in this order: "<feature>/<step>/<call_id>", "<step>/<call_id>",
"<step>", "*". An action may have:
  "answer": text for stdout (or for the output file, see below)
  "answer_file": a file whose bytes are the answer on stdout, as they are (binary, huge, not UTF-8)
  "write":  {relative path: content} written into the cwd (*.sh made executable)
  "append": {relative path: content} appended to a file of the cwd
  "delete": [relative path] removed from the cwd
            (a write or delete the system refuses is reported on stderr, and the agent goes on)
  "stderr": text for stderr
  "sleep":  seconds to wait first
  "sleep_after_write": seconds to wait after writing files (to be killed mid-call)
  "exit":   exit code (default 0)
  "run":    [argv] run first (from the cwd, with the agent's environment); its exit code and
            output are appended as a JSON line to $FAKE_AGENT_LOG's folder / ran.jsonl
With no match the fake exits 3. Options: --prompt-file PATH reads the prompt
from PATH instead of stdin; --to-file writes the answer to $DEVLOOP_OUTPUT_FILE;
--output-file PATH writes it to PATH. If FAKE_AGENT_LOG is set, one JSON line
per call is appended to it and the prompt is saved next to it as
last-prompt-<step>.txt and as prompt-<feature>-<step>-<call_id>.txt.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def parse_args(args: list[str]) -> tuple[str | None, str | None]:
    prompt_file = output_file = None
    i = 0
    while i < len(args):
        if args[i] == "--prompt-file":
            prompt_file, i = args[i + 1], i + 1
        elif args[i] == "--output-file":
            output_file, i = args[i + 1], i + 1
        elif args[i] == "--to-file":
            output_file = os.environ["DEVLOOP_OUTPUT_FILE"]
        i += 1
    return prompt_file, output_file


def find_action(env: dict[str, str]) -> dict | None:
    script_path = env.get("FAKE_AGENT_SCRIPT")
    if not script_path:
        return None
    script = json.loads(Path(script_path).read_text(encoding="utf-8"))
    step, feature, call_id = env.get("DEVLOOP_STEP", ""), env.get("DEVLOOP_FEATURE", ""), env.get("DEVLOOP_CALL_ID", "")
    for key in (f"{feature}/{step}/{call_id}", f"{step}/{call_id}", step, "*"):
        if key in script:
            return script[key]
    return None


def log_call(env: dict[str, str], prompt: str) -> None:
    log = env.get("FAKE_AGENT_LOG")
    if not log:
        return
    step = env.get("DEVLOOP_STEP", "")
    entry = {
        "step": step,
        "feature": env.get("DEVLOOP_FEATURE"),
        "role": env.get("DEVLOOP_ROLE"),
        "round": env.get("DEVLOOP_ROUND"),
        "call_id": env.get("DEVLOOP_CALL_ID"),
        "cwd": os.getcwd(),
        "argv": sys.argv,
        "env": sorted(env),
        "devloop_env": {k: v for k, v in env.items() if k.startswith("DEVLOOP_")},
    }
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
    Path(log).parent.joinpath(f"last-prompt-{step or 'none'}.txt").write_text(prompt, encoding="utf-8")
    call = f"{env.get('DEVLOOP_FEATURE')}-{step}-{env.get('DEVLOOP_CALL_ID')}"
    Path(log).parent.joinpath(f"prompt-{call}.txt").write_text(prompt, encoding="utf-8")


def write(rel: str, content: str, mode: str) -> None:
    path = Path(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, encoding="utf-8") as fh:
        fh.write(content)
    if rel.endswith(".sh"):
        path.chmod(0o755)


def tolerant(fn: object, *args: object, **kw: object) -> None:
    """Like a real agent's tool: a refused write is reported (stderr) and the agent goes on."""
    try:
        fn(*args, **kw)  # type: ignore[operator]
    except OSError as exc:
        print(f"fake_agent: {exc}", file=sys.stderr)


def main() -> int:
    env = dict(os.environ)
    prompt_file, output_file = parse_args(sys.argv[1:])
    prompt = Path(prompt_file).read_text(encoding="utf-8") if prompt_file else sys.stdin.read()
    log_call(env, prompt)
    action = find_action(env)
    if action is None:
        print(f"fake_agent: no action for step {env.get('DEVLOOP_STEP')!r}", file=sys.stderr)
        return 3
    time.sleep(float(action.get("sleep", 0)))
    if action.get("run"):
        import subprocess

        done = subprocess.run(action["run"], capture_output=True, text=True, env=env, timeout=60)
        ran = Path(env.get("FAKE_AGENT_LOG", "calls.jsonl")).parent / "ran.jsonl"
        with ran.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"argv": action["run"], "rc": done.returncode, "stderr": done.stderr}) + "\n")
    for rel, content in action.get("write", {}).items():
        tolerant(write, rel, content, "w")
    for rel, content in action.get("append", {}).items():
        tolerant(write, rel, content, "a")
    for rel in action.get("delete", []):
        tolerant(Path(rel).unlink, missing_ok=True)
    time.sleep(float(action.get("sleep_after_write", 0)))
    if "answer_file" in action:
        with open(action["answer_file"], "rb") as fh:
            while chunk := fh.read(1 << 20):
                sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    if "answer" in action:
        if output_file:
            Path(output_file).write_text(action["answer"], encoding="utf-8")
        else:
            sys.stdout.write(action["answer"])
    if "stderr" in action:
        sys.stderr.write(action["stderr"])
    return int(action.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
