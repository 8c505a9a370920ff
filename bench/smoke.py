"""Benchmark: what the post-deploy checks cost, to import and to run, in process and as a whole ``doit smoke``.

    .venv/bin/python bench/smoke.py [--repeat 5] [--commands-only | --gcp-only] [--profile]

0. ``doit smoke`` with 10 command checks, whole process (issue 17's row; it
   needs no emulator, so it runs first and alone with ``--commands-only``).
   It lays out a real devloop workspace with one feature whose validation.md
   smoke block holds 10 ``command:`` checks and nothing else, runs the loop
   once with replay agents, then, interleaved over ``--repeat`` rounds,
   records a new deploy (``devloop deployed``, not timed) and times the
   whole ``doit smoke`` process, and times a shell loop (``sh -c`` running
   the same 10 argv's one after another). Two sets of commands: realistic
   ones (curl against a local web server, python3, git, grep, a smoke
   script...) and 10 times ``true``, the worst case for the ratio. It prints
   medians, min and max, the ratio doit-smoke / shell loop, and the floor
   that bounds it: ``python -c pass``, ``python -c "import doit"`` and bare
   doit running a one-task dodo. Then ``-X importtime`` of that ``doit
   smoke``: its costliest top-level imports and whether pydantic, jinja2,
   yaml, google, rich or matplotlib were imported (``--profile``: cProfile's
   top entries too).

It then starts bqemulator (offline adjustments as in tests/gcp_servers.py), a
local Cloud Logging server and a local web server, and prints:

1. import cost, each in a fresh interpreter (median of ``--repeat``): wall
   time of ``import devloop`` and ``import devloop.after_deploy.checks``, then of running
   one http+command check, one BigQuery check and one Logging check, with
   the cumulative ``-X importtime`` of ``google.cloud.*`` and whether any
   ``google`` module was loaded at all;
2. a 10-check smoke run (3 BigQuery, 3 Logging, 2 http, 2 command): once
   cold in a fresh interpreter (imports and client creation included), then
   warm in this process, sequential and with 4 threads.

Children load modules from bytecode cached in a temporary folder
(PYTHONPYCACHEPREFIX), as on a user's machine, even when the calling shell
sets PYTHONDONTWRITEBYTECODE. It prints figures and asserts nothing about
time; it exits non-zero only when a workspace is not what it should be (a
run failed, a check did not pass).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.gcp_servers import PROJECT, LoggingServer, start_bqemulator  # noqa: E402

TABLE = f"{PROJECT}.bench.events"

SMOKE = """```yaml devloop
smoke:
  - name: partition_present
    bigquery: {{query: 'SELECT COUNT(*) AS n FROM `{table}` WHERE dt = @day', params: {{day: '{{{{ today }}}}'}}}}
    expect: n > 0
  - name: total
    bigquery: {{query: 'SELECT SUM(n) AS total FROM `{table}` WHERE name IN UNNEST(@names)', params: {{names: [a, b]}}}}
    expect: total >= 0
  - name: cost
    bigquery: {{query: 'SELECT * FROM `{table}`', dry_run: true}}
    expect: bytes_processed < 1000000000
  - name: errors_since_deploy
    logging: {{filter: 'severity>=ERROR'}}
    window: 10m
    expect: count < 100
  - name: warnings
    logging: {{filter: 'severity=WARNING', max_entries: 50}}
    window: 1h
    expect: count > 0
  - name: crashes
    logging: {{filter: 'textPayload:"panic"', page_size: 100}}
    window: 30m
    expect: count == 0 or count > 0
  - name: health
    http: {{url: '{web}/healthz'}}
    expect: status == 200
  - name: version
    http: {{url: '{web}/version', headers: {{X-Feature: '{{{{ feature }}}}'}}}}
    expect: status == 200 and 'v1' in body
  - name: cli_ok
    command: {{argv: [echo, ready]}}
    expect: exit_code == 0 and 'ready' in stdout
  - name: script_ok
    command: {{argv: [sh, -c, 'test -d .']}}
    expect: exit_code == 0
```
"""

CHILD = r"""
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
t0 = time.perf_counter()
import devloop.after_deploy.checks
from devloop.after_deploy.checks import CheckContext, parse_check_block, run_checks
from devloop.config.models import GcpConfig
t1 = time.perf_counter()
text, bq, logs, kinds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
block = parse_check_block(text)
checks = [c for c in block.smoke if c.kind in kinds]
gcp = GcpConfig(project=sys.argv[5], credentials="anonymous", bigquery_endpoint=bq, logging_endpoint=logs)
ctx = CheckContext(Path.cwd(), gcp, "bench", "v1", None, datetime.now(UTC))
results = run_checks(checks, ctx)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "run_s": t2 - t1, "outcomes": [r.outcome for r in results],
                  "lines": [r.line() for r in results],
                  "google": sum(1 for m in sys.modules if m == "google" or m.startswith("google."))}))
"""


class Web(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"version": "v1"}' if self.path == "/version" else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_web() -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Web)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    return httpd


def seed(url: str) -> None:
    """A partitioned table with today's rows, through the real client."""
    from datetime import UTC, datetime

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": url})
    client.create_dataset("bench", exists_ok=True)
    schema = [bigquery.SchemaField(n, t) for n, t in (("dt", "DATE"), ("name", "STRING"), ("n", "INT64"))]
    table = bigquery.Table(TABLE, schema=schema)
    table.time_partitioning = bigquery.TimePartitioning(field="dt")
    client.create_table(table, exists_ok=True)
    today = datetime.now(UTC).date().isoformat()
    errors = client.insert_rows_json(TABLE, [{"dt": today, "name": c, "n": i} for i, c in enumerate("abcde")])
    if errors:
        raise SystemExit(f"seeding failed: {errors}")


def seed_logs(server: LoggingServer) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    for minutes in range(0, 60, 2):
        stamp = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        server.add(stamp, severity="ERROR" if minutes % 4 else "WARNING", n=3)


# -- 0. `doit smoke` with 10 command checks, whole process ----------------------------------------
BIN = Path(sys.executable).parent
HEAVY = ("pydantic", "jinja2", "yaml", "google", "rich", "matplotlib")
FEATURE = "svc"


def _tool(name: str, module: str) -> list[str]:
    """The console script next to this interpreter, else ``python -m module``."""
    exe = BIN / name
    return [str(exe)] if exe.is_file() and os.access(exe, os.X_OK) else [sys.executable, "-m", module]


DOIT = _tool("doit", "doit")
DEVLOOP = _tool("devloop", "devloop.cli.main")


class BenchError(Exception):
    """A workspace is not in the state the benchmark needs."""


def _env(pycache: Path) -> dict[str, str]:
    """As on a user's machine: modules load from cached bytecode (kept out of the source tree)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVLOOP_")}
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["NO_COLOR"] = "1"
    return env


def _run(argv: list[str], cwd: Path, pycache: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=_env(pycache), capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise BenchError(f"`{' '.join(argv)}` exited {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


# A real interpreter, not a version manager's shim (pyenv's is a bash script that costs 0.1 s a call and
# would flatter the ratio by slowing the shell loop as much as devloop).
PYTHON3 = os.path.realpath(sys.executable)


def realistic_commands(web: str) -> list[tuple[list[str], str]]:
    """What a smoke block of a small service plausibly runs (no network: curl talks to a local server)."""
    return [
        (["curl", "-fsS", f"{web}/healthz"], "exit_code == 0 and stdout == 'ok'"),
        (["curl", "-fsS", f"{web}/version"], "'\"v1\"' in stdout"),
        ([PYTHON3, f"src/{FEATURE}.py", "--version"], f"stdout | trim == '{FEATURE} 1.0'"),
        ([PYTHON3, "-c", "import json, sys; json.dump({'ok': True}, sys.stdout)"], "'\"ok\": true' in stdout"),
        (["git", "rev-parse", "--is-inside-work-tree"], "stdout | trim == 'true'"),
        (["sh", f"scripts/smoke/{FEATURE}.sh"], "exit_code == 0"),
        (["grep", "-c", "def ", f"src/{FEATURE}.py"], "stdout | trim | int >= 1"),
        (["sh", "-c", f"test -f plans/{FEATURE}/plan.md && test -s src/{FEATURE}.py"], "exit_code == 0"),
        (["ls", f"plans/{FEATURE}"], "'validation.md' in stdout"),
        (["env"], f"'DEVLOOP_FEATURE={FEATURE}' in stdout"),
    ]


def trivial_commands() -> list[tuple[list[str], str]]:
    return [(["true"], "exit_code == 0")] * 10


WS_YAML = """\
# bench/smoke.py: recorded answers stand in for the models (two seats, so no role judges its own work)
agents:
  author: {kind: replay, dir: recorded, model: recorded-author}
  judge: {kind: replay, dir: recorded, model: recorded-judge}
roles:
  planner: author
  plan_reviewer: judge
  implementer: author
  reviewers: [judge]
  verifier: judge
  evaluator: judge
"""

SVC = f'''"""A tiny service CLI the smoke checks call."""
import sys


def version() -> str:
    return "{FEATURE} 1.0"


if __name__ == "__main__":
    print(version() if sys.argv[1:] == ["--version"] else "usage: {FEATURE}.py --version")
'''

EVALUATION = """Done.

```yaml
scores: {plan_quality: 4, review_usefulness: 4, implementation_drift: 4, trigger_correctness: 4}
findings: []
```
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _yaml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML flow scalar


def validation_md(commands: list[tuple[list[str], str]]) -> str:
    items = "".join(
        f"  - name: check_{i}\n    command: {{argv: [{', '.join(_yaml_str(a) for a in argv)}]}}\n"
        f"    expect: {_yaml_str(expect)}\n"
        for i, (argv, expect) in enumerate(commands)
    )
    return f"# Validation: {FEATURE}\n\n```yaml devloop\nsmoke:\n{items}```\n"


def make_command_workspace(root: Path, commands: list[tuple[list[str], str]], pycache: Path) -> None:
    """A git repository made a devloop workspace; the loop run once with replay agents; deploy #1 recorded."""
    f = FEATURE
    _write(root / "dodo.py", "from devloop.tasks import setup\n\nsetup(globals())\n")
    _write(root / "devloop.yaml", WS_YAML)
    _write(root / "plans" / f / "brief.md", f"# {f}\n\nA CLI that prints its version.\n")
    rec = root / "recorded"
    plan = f"```file=plans/{f}/plan.md\n# Plan: {f}\n\n1. Write `src/{f}.py`.\n```\n"
    validation = f"````file=plans/{f}/validation.md\n{validation_md(commands)}````\n"
    _write(rec / f / "plan" / "plan.md", f"Here is the plan.\n\n{plan}\n{validation}")
    _write(rec / "plan_review" / "round1-review.md", "The plan covers the brief.\n\nVERDICT: APPROVE\n")
    impl = (
        f"```file=plans/{f}/deviations.md\nNo deviations.\n```\n\n"
        f"```file=scripts/smoke/{f}.sh\n#!/bin/sh\nset -e\ntest -f src/{f}.py\n```\n\n"
        f"```file=src/{f}.py\n{SVC.rstrip()}\n```\n"
    )
    _write(rec / f / "implement" / "implement.md", f"Done.\n\n{impl}")
    _write(rec / "code_review" / "round1-judge.md", "Clean.\n\nVOTE: PRODUCTION GRADE\n")
    _write(rec / "evaluate" / "evaluate.md", EVALUATION)
    _run(["git", "init", "-q"], root, pycache)
    _run([*DOIT], root, pycache)  # the whole loop; evaluate waits for the smoke run
    if not (root / "scripts" / "smoke" / f"{f}.sh").is_file():
        raise BenchError(f"the loop did not implement {f}:\n{_run([*DEVLOOP, 'status'], root, pycache).stdout}")


def deploy_and_smoke(root: Path, version: int, pycache: Path, argv: list[str] | None = None) -> float:
    """Record deploy ``v<version>`` (not timed), then time the whole ``doit smoke``; BenchError unless all passed."""
    _run([*DEVLOOP, "deployed", FEATURE, "--version", f"v{version}"], root, pycache)
    start = time.perf_counter()
    done = _run(argv or [*DOIT, "smoke"], root, pycache, check=False)
    took = time.perf_counter() - start
    logs = sorted((root / "runs" / FEATURE).glob("*/smoke.log"), key=lambda p: p.stat().st_mtime_ns)
    log = logs[-1].read_text() if logs else ""
    if done.returncode != 0 or f"version v{version} " not in log or "# result: PASS: checks 10/10 passed" not in log:
        raise BenchError(f"`doit smoke` did not pass all 10 checks (exit {done.returncode}):\n{done.stdout}\n{log}")
    return took


BARE_DODO = '''"""Bare doit: one task with a trivial Python action (the floor of any `doit <task>` run)."""


def task_one():
    return {"actions": [lambda: None], "verbosity": 0}
'''


def _stats(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:7.1f} {min(xs) * 1000:7.1f} {max(xs) * 1000:7.1f}"


def commands_report(repeat: int, profile: bool, pycache: Path) -> None:
    print(f"\n0. `doit smoke` with 10 command checks, whole process (interleaved, {repeat} rounds, ms)")
    with tempfile.TemporaryDirectory(prefix="devloop-bench-smoke-cmd-") as tmp_name:
        tmp = Path(tmp_name)
        web = start_web()
        try:
            url = f"http://127.0.0.1:{web.server_address[1]}"
            sets = {"realistic": realistic_commands(url), "true x10": trivial_commands()}
            roots = {name: tmp / name.replace(" ", "_") for name in sets}
            for name, cmds in sets.items():
                make_command_workspace(roots[name], cmds, pycache)
            _write(tmp / "bare" / "dodo.py", BARE_DODO)
            _commands_timings(tmp, sets, roots, pycache, repeat)
            _commands_imports(roots["realistic"], pycache, len(sets) * (repeat + 1) + 1, profile)
        finally:
            web.shutdown()


def _commands_timings(
    tmp: Path, sets: dict[str, list[tuple[list[str], str]]], roots: dict[str, Path], pycache: Path, repeat: int
) -> None:
    py = sys.executable
    loops = {name: ["sh", "-c", "\n".join(shlex.join(argv) for argv, _ in cmds)] for name, cmds in sets.items()}
    floors = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import doit'": [py, "-c", "import doit"],
        "bare doit, one-task dodo": [*DOIT],
    }
    times: dict[str, list[float]] = {}
    version = 1
    for rnd in range(repeat + 1):  # round 0 warms the page cache and the bytecode cache; not counted
        for name in sets:
            version += 1
            took = deploy_and_smoke(roots[name], version, pycache)
            start = time.perf_counter()
            _run(loops[name], roots[name], pycache)
            loop = time.perf_counter() - start
            if rnd:
                times.setdefault(f"doit smoke ({name})", []).append(took)
                times.setdefault(f"shell loop ({name})", []).append(loop)
        for label, argv in floors.items():
            start = time.perf_counter()
            _run(argv, tmp / "bare", pycache)
            if rnd:
                times.setdefault(label, []).append(time.perf_counter() - start)
    width = max(map(len, times))
    print(f"   {'':{width}}  median     min     max")
    for label, xs in times.items():
        print(f"   {label:{width}} {_stats(xs)}")
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    for name in sets:
        smoke, loop = f"doit smoke ({name})", f"shell loop ({name})"
        print(
            f"   ratio doit smoke / shell loop, {name}: {med[smoke] / med[loop]:.1f}x median, "
            f"{low[smoke] / low[loop]:.1f}x min   [target <= 3x]"
        )
        bare = med["bare doit, one-task dodo"]
        own = (med[smoke] - bare - med[loop]) * 1000
        print(
            f"     floor for any doit task running them: (bare doit + shell loop) / shell loop = "
            f"{(bare + med[loop]) / med[loop]:.1f}x; devloop's own share {own:.0f} ms"
            " (doit smoke - bare doit - shell loop, medians)"
        )


def _commands_imports(root: Path, pycache: Path, version: int, profile: bool) -> None:
    """``-X importtime`` (and, asked, cProfile) of one more ``doit smoke`` with only command checks."""
    env_argv = [sys.executable, "-X", "importtime", "-m", "doit", "smoke"]
    _run([*DEVLOOP, "deployed", FEATURE, "--version", f"v{version}"], root, pycache)
    done = _run(env_argv, root, pycache)
    imported: set[str] = set()
    top: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        module = parts[2].strip()
        imported.add(module.split(".")[0])
        if not parts[2].startswith("  "):  # indented two spaces per level: this one is top-level
            top[module] = top.get(module, 0.0) + int(parts[1]) / 1000
    print("   -X importtime of `doit smoke` (realistic set), top-level imports by cumulative ms:")
    for module, ms in sorted(top.items(), key=lambda kv: -kv[1])[:10]:
        print(f"     {ms:7.1f}  {module}")
    print("   heavy packages imported: " + ", ".join(f"{h} {'YES' if h in imported else 'no'}" for h in HEAVY))
    if profile:
        _run([*DEVLOOP, "deployed", FEATURE, "--version", f"v{version + 1}"], root, pycache)
        done = _run([sys.executable, "-c", PROFILE, "smoke"], root, pycache)
        print("   cProfile of `doit smoke` (realistic set), top 15 by cumulative time:")
        print("\n".join("     " + line for line in done.stdout.splitlines()))


PROFILE = """\
import cProfile, io, pstats, sys
out, sys.stdout = sys.stdout, io.StringIO()
from doit.doit_cmd import DoitMain
prof = cProfile.Profile()
try:
    prof.runcall(DoitMain().run, sys.argv[1:])
finally:
    sys.stdout = out
s = io.StringIO()
pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(15)
lines = s.getvalue().splitlines()
start = next(i for i, line in enumerate(lines) if "ncalls" in line)
print("\\n".join([line.strip() for line in lines if "function calls" in line] + lines[start:]).rstrip())
"""


def child(
    text: str, bq: str, logs: str, kinds: str, pycache: Path, importtime: bool = False
) -> tuple[float, dict[str, Any], str]:
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", CHILD, text, bq, logs, kinds, PROJECT]
    env = _env(pycache)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def cumulative_ms(importtime: str, module: str) -> float | None:
    """The cumulative microseconds ``-X importtime`` reports for ``module``, in ms (None if not imported)."""
    for line in importtime.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module and parts[1].isdigit():
            return int(parts[1]) / 1000
    return None


def bare_import(module: str, repeat: int, pycache: Path) -> float:
    times = []
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=REPO, env=_env(pycache))  # warm-up
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=REPO, env=_env(pycache))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--commands-only", action="store_true", help="only section 0 (no emulator needed)")
    only.add_argument("--gcp-only", action="store_true", help="only sections 1 and 2 (against local GCP servers)")
    parser.add_argument("--profile", action="store_true", help="section 0 also prints cProfile's top entries")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devloop-bench-pycache-") as pycache:
        try:
            if not args.gcp_only:
                commands_report(args.repeat, args.profile, Path(pycache))
            if not args.commands_only:
                gcp_sections(args.repeat, Path(pycache))
        except BenchError as exc:
            raise SystemExit(f"bench/smoke.py: {exc}") from None


def gcp_sections(repeat: int, pycache: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="devloop-bench-smoke-") as tmp:
        emulator = start_bqemulator(Path(tmp) / "emulator.log")
        logs, web = LoggingServer(), start_web()
        logs.start()
        try:
            print(f"\nbqemulator ready in {emulator.start_s:.2f}s at {emulator.url}")
            seed(emulator.url)
            seed_logs(logs)
            text = SMOKE.format(table=TABLE, web=f"http://127.0.0.1:{web.server_address[1]}")
            report(text, emulator.url, logs, repeat, pycache)
        finally:
            logs.stop()
            web.shutdown()
            emulator.stop()


def report(text: str, bq: str, logs: LoggingServer, repeat: int, pycache: Path) -> None:
    print("\n1. import cost (fresh interpreter, median of", repeat, "runs)")
    print(f"   python -c 'pass'            {bare_import('sys', repeat, pycache) * 1000:7.0f} ms wall")
    print(f"   import devloop              {bare_import('devloop', repeat, pycache) * 1000:7.0f} ms wall")
    for name, note in (("devloop.after_deploy.checks", " (lazy)"), ("devloop.after_deploy.checks.model", "")):
        print(f"   import {name:34s} {bare_import(name, repeat, pycache) * 1000:7.0f} ms wall{note}")
    for label, kinds in (("2 http + 2 command", "http,command"), ("3 bigquery", "bigquery"), ("3 logging", "logging")):
        walls, runs = [], []
        for _ in range(repeat):
            wall, out, _ = child(text, bq, logs.url, kinds, pycache)
            walls.append(wall)
            runs.append(out["run_s"])
        _, out, importtime = child(text, bq, logs.url, kinds, pycache, importtime=True)
        google = {m: cumulative_ms(importtime, m) for m in ("google.cloud.bigquery", "google.cloud.logging")}
        loaded = ", ".join(f"{m.split('.')[-1]} {v:.0f} ms" for m, v in google.items() if v) or "none"
        print(
            f"   run {label:<22} {statistics.median(walls) * 1000:7.0f} ms wall, checks"
            f" {statistics.median(runs) * 1000:5.0f} ms, google modules loaded: {out['google']}"
            f" (google.cloud import: {loaded}); outcomes {out['outcomes']}"
        )

    print("\n2. a 10-check smoke run (3 bigquery, 3 logging, 2 http, 2 command)")
    wall, out, _ = child(text, bq, logs.url, "bigquery,logging,http,command", pycache)
    print(
        f"   cold, fresh interpreter: {wall * 1000:.0f} ms wall = import {out['import_s'] * 1000:.0f} ms"
        f" + checks {out['run_s'] * 1000:.0f} ms; outcomes: {sorted(set(out['outcomes']))}"
    )
    from datetime import UTC, datetime

    from devloop.after_deploy.checks import CheckContext, parse_check_block, run_checks
    from devloop.config.models import GcpConfig

    block = parse_check_block(text)
    assert block is not None
    gcp = GcpConfig(project=PROJECT, credentials="anonymous", bigquery_endpoint=bq, logging_endpoint=logs.url)
    for jobs in (1, 4):
        times, results = [], []
        for _ in range(repeat):
            ctx = CheckContext(REPO, gcp, "bench", "v1", None, datetime.now(UTC))
            start = time.perf_counter()
            results = run_checks(block.smoke, ctx, jobs=jobs)
            times.append(time.perf_counter() - start)
        print(f"   warm, jobs={jobs}: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms")
    print("   lines of the last run:")
    for r in results:
        print("     " + r.line())


if __name__ == "__main__":
    main()
