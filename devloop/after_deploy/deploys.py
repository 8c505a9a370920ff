"""Deploy stamps and the commands around a deploy: recorded in the lock, run only from config."""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path
from typing import Any

from devloop.provenance.hashing import hash_json
from devloop.provenance.lockfile import now_iso
from devloop.provenance.state import FeatureLock
from devloop.runtime.atomic import append_bytes
from devloop.runtime.errors import DevloopError, UsageError
from devloop.runtime.procs import last_line, run_in_group
from devloop.runtime.redact import redact


def stamp(lock: FeatureLock, version: str | None, by: str | None, forced: str | None = None) -> dict[str, Any]:
    """Record a new deploy; every smoke run refers to the stamp it ran against.

    ``forced`` records why the deploy was accepted although the loop had not
    passed the code for it (``devloop deployed --force``).
    """
    previous = lock.deploy or {}
    new = {"id": int(previous.get("id") or 0) + 1, "version": version, "by": by or getpass.getuser(), "at": now_iso()}
    if forced:
        new["forced"] = forced
    lock.deploy = new
    return new


def stamp_hash(lock: FeatureLock) -> str:
    return hash_json(lock.deploy) if lock.deploy else "not-deployed"


def commands(ws: Any, feature: str) -> Any:
    """The feature's deploy section, or the workspace's."""
    feature_cfg = ws.config.features.get(feature)
    if feature_cfg is not None and feature_cfg.get("deploy"):
        return feature_cfg.deploy
    return ws.config.deploy


def run_configured(ws: Any, feature: str, argv: list[str] | None, what: str, log: Path, timeout: float) -> bool:
    """Run a configured deploy or rollback command, logging everything to ``log``; True on exit 0."""
    if not argv:
        raise UsageError(f"no {what} command configured (devloop.yaml: deploy.{what} or features.{feature}.deploy)")
    env = {**os.environ, "DEVLOOP_FEATURE": feature, "DEVLOOP_WORKSPACE": str(ws.root)}
    started = time.monotonic()
    try:
        done = run_in_group(list(argv), ws.root, env, timeout)
    except OSError as exc:
        raise DevloopError(f"{what} command {argv[0]!r} cannot start: {exc}") from None
    result = "timed out" if done.timed_out else f"exit {done.returncode}"
    text = (
        f"# {now_iso()} {what}: {' '.join(argv)}\n"
        + redact(done.stdout.decode("utf-8", errors="replace"))
        + redact(done.stderr.decode("utf-8", errors="replace"))
        + f"# {what} finished: {result} after {time.monotonic() - started:.1f}s\n"
    )
    append_bytes(log, text.encode("utf-8"))
    if done.timed_out or done.returncode != 0:
        tail = last_line(done.stderr) or last_line(done.stdout)
        raise DevloopError(f"{what} command failed ({'timed out' if done.timed_out else done.returncode}): {tail}")
    return True
