"""Run folders: where smoke runs, monitoring, deploys and rollbacks leave their logs.

One scheme, ``runs/<feature>/<YYYYMMDD-HHMMSS>[-n]/``: a feature's runs live
in its own folder, so no name can be read as another feature's, and a second
run within the same second gets ``-2``, ``-3``, ... which sorts after the
first. Folders of the earlier scheme (``runs/<YYYYMMDD-HHMMSS>-<feature>/``)
are still read. Everything that lists runs (report, triage, rollup, monitor,
status) goes through :func:`run_dirs`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from devloop.config.workspace import Workspace

_RUN = re.compile(r"^(\d{8}-\d{6})(?:-(\d+))?$")
_LEGACY = re.compile(r"^(\d{8}-\d{6})-(.+?)(?:-(\d+))?$")


def new_run_dir(ws: Workspace, feature: str, now: dt.datetime | None = None) -> str:
    """Create ``runs/<feature>/<stamp>[-n]`` (never an existing one); its path relative to the workspace."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    folder = ws.confined(f"runs/{feature}")
    folder.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        name = stamp if n == 1 else f"{stamp}-{n}"
        try:
            (folder / name).mkdir()
        except FileExistsError:
            n += 1
            continue
        return f"runs/{feature}/{name}"


def run_dirs(ws: Workspace, feature: str) -> list[Path]:
    """Every run folder of ``feature``, oldest first, in either scheme."""
    found: list[tuple[str, int, Path]] = []
    own = ws.root / "runs" / feature
    if own.is_dir():
        for p in own.iterdir():
            m = _RUN.match(p.name)
            if m and p.is_dir():
                found.append((m.group(1), int(m.group(2) or 1), p))
    runs = ws.root / "runs"
    if runs.is_dir():
        features = set(ws.features())
        for p in runs.iterdir():
            m = _LEGACY.match(p.name)
            if not m or not p.is_dir():
                continue
            name, n = m.group(2), m.group(3)
            if name == feature and n is None:
                found.append((m.group(1), 1, p))
            elif n is not None and name == feature and f"{feature}-{n}" not in features:
                found.append((m.group(1), int(n), p))  # the old scheme's second run in a second
            elif n is not None and f"{name}-{n}" == feature:
                found.append((m.group(1), 1, p))
    return [p for _, _, p in sorted(found, key=lambda t: (t[0], t[1]))]
