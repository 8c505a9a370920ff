#!/usr/bin/env python3
"""Stands in for a real agent CLI (installed under its name on a temp PATH) by replaying recorded output.

CLI_REPLAY names a JSON file: {"stdout": text, "stderr": text, "exit": n,
"stdout_file"/"stderr_file": paths of recorded outputs, "output_flag": "-o"
(write "output_text" to the file named after that flag), "sleep": seconds}.
Every call appends {"argv": [...], "stdin": "..."} to CLI_REPLAY_LOG when set.
"""

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    spec = json.loads(Path(os.environ["CLI_REPLAY"]).read_text())
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    log = os.environ.get("CLI_REPLAY_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps({"argv": [Path(sys.argv[0]).name, *sys.argv[1:]], "stdin": stdin}) + "\n")
    time.sleep(float(spec.get("sleep", 0)))
    flag = spec.get("output_flag")
    if flag and flag in sys.argv:
        Path(sys.argv[sys.argv.index(flag) + 1]).write_text(spec.get("output_text", ""))
    out = Path(spec["stdout_file"]).read_bytes() if "stdout_file" in spec else spec.get("stdout", "").encode()
    err = Path(spec["stderr_file"]).read_bytes() if "stderr_file" in spec else spec.get("stderr", "").encode()
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    return int(spec.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
