"""A workspace: the user's repository, its devloop.yaml, plans and state folder.

Loading the validated config costs a pydantic import, which the no-op path of
``doit`` cannot afford; the validated config is therefore cached as JSON in
``.devloop/`` keyed by the hash of devloop.yaml, and only re-validated when
the file changes.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devloop.provenance import LOCK_NAME
from devloop.provenance.hashing import hash_bytes, package_stamp, stat_key

if TYPE_CHECKING:
    from devloop.config.models import Config
    from devloop.provenance.state import FeatureLock
    from devloop.provenance.verdicts import Verdicts

CONFIG_FILE = "devloop.yaml"
STATE_DIR = ".devloop"
PACKAGED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # devloop/templates in a wheel
SOURCE_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


def packaged_templates_dir() -> Path:
    """Templates shipped in the wheel, or the repo's top-level folder in a source checkout."""
    return PACKAGED_TEMPLATES if PACKAGED_TEMPLATES.is_dir() else SOURCE_TEMPLATES


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding devloop.yaml (or, failing that, dodo.py).

    A command run outside any workspace is a usage error (exit 3), never a
    silent "no features" in whatever folder it was typed.
    """
    from devloop.runtime.errors import UsageError  # lazy: off the path of a no-op doit and devloop --help

    start = start.resolve()
    for marker in (CONFIG_FILE, "dodo.py"):
        for folder in (start, *start.parents):
            if (folder / marker).exists():
                return folder
    raise UsageError(f"{start} is not inside a devloop workspace (no {CONFIG_FILE} here or above); run devloop init")


def ensure_state_dir(root: Path) -> Path:
    """Create ``root/.devloop/`` with a .gitignore so its contents never reach git."""
    state = root / STATE_DIR
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        from devloop.runtime.atomic import atomic_write_text  # lazy: off the path of a no-op doit (journal, hmac)

        atomic_write_text(ignore, "# devloop's per-machine state; never commit it\n*\n")
    return state


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.plans = self.root / "plans"
        self.state = self.root / STATE_DIR
        self.memo: dict[Any, Any] = {}  # per-object caches of things a run does not change

    # -- layout ---------------------------------------------------------
    def ensure_state_dir(self) -> Path:
        """Create ``.devloop/`` with a .gitignore so its contents never reach git."""
        return ensure_state_dir(self.root)

    def features(self) -> list[str]:
        """Features are the folders under plans/ that hold a brief.md and whose name is a feature name.

        A folder made by hand with another name (``plans/daily ingest/``) is
        no feature: it is named once on stderr with the rule, and nothing is
        ever written for it; the other features are unaffected.
        """
        if not self.plans.is_dir():
            return []
        from devloop.config.names import is_feature_name  # lazy: off the path of a no-op doit and devloop --help

        found, refused = [], []
        with os.scandir(self.plans) as entries:  # strings, not Paths: every no-op lists every feature
            for entry in entries:
                if os.path.isfile(f"{entry.path}/brief.md"):
                    (found if is_feature_name(entry.name) else refused).append(entry.name)
        if refused:
            _say_refused(self.root, refused)
        return sorted(found)

    def feature_dir(self, feature: str) -> Path:
        return self.plans / feature

    def confined(self, rel: str) -> Path:
        """``root / rel``, refused unless it stays inside the workspace with every link followed.

        Paths built from names (features, agents, teams) go through here before
        anything is written, so a name or a planted symlink can never direct a
        write outside the workspace.
        """
        return confined(self.root, rel)

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def workspace_rel(self, path: Path) -> str:
        """A path for read_text: relative when inside the workspace, absolute otherwise (packaged templates)."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def lock_path(self, feature: str) -> Path:
        path = self.memo.get(("lock_path", feature))
        if path is None:
            path = self.memo[("lock_path", feature)] = self.plans / feature / LOCK_NAME
        return path

    @property
    def lock_cache(self) -> Path | None:
        """JSON copies of the locks, kept only once the state folder exists."""
        return self.state / "cache" / "locks" if self.state.is_dir() else None

    def read_lock(self, feature: str) -> FeatureLock:
        from devloop.provenance.lockfile import read_lock  # lazy: off the path of a no-op doit and devloop --help

        return read_lock(self.lock_path(feature), feature, self.lock_cache)

    def read_lock_shared(self, feature: str) -> FeatureLock:
        """Like ``read_lock``, parsed once per lock version for this object: treat it as read-only."""
        key = ("lock", feature, stat_key(str(self.lock_path(feature))))  # taken before the read
        lock = self.memo.get(key)
        if lock is None:
            lock = self.memo[key] = self.read_lock(feature)
        return lock

    def write_lock(self, feature: str, lock: FeatureLock) -> None:
        from devloop.provenance.lockfile import write_lock  # lazy: off the path of a no-op doit and devloop --help

        write_lock(self.lock_path(feature), lock, self.lock_cache)

    @cached_property
    def verdicts(self) -> Verdicts:
        """The per-machine memo of settled statuses (see :mod:`devloop.provenance.verdicts`)."""
        from devloop.provenance.verdicts import Verdicts  # lazy: off the path of a no-op doit and devloop --help

        return Verdicts(self.root, self.state, self._stamp)

    @cached_property
    def views(self) -> Verdicts:
        """The same memo for whole status rows (``devloop status``), in a file of its own."""
        from devloop.provenance.verdicts import VIEWS, Verdicts  # lazy: off the path of a no-op doit and devloop --help

        return Verdicts(self.root, self.state, self._stamp, VIEWS)

    @cached_property
    def _stamp(self) -> tuple[str, bool]:
        from devloop.provenance.verdicts import stamp_of  # lazy: off the path of a no-op doit and devloop --help

        return stamp_of(self.root, [packaged_templates_dir(), self.root / "templates"])

    def history_dir(self, feature: str) -> Path:
        return self.plans / feature / ".history"

    # -- templates ------------------------------------------------------
    def template_path(self, name: str) -> Path:
        """A workspace copy in templates/ overrides the packaged template."""
        local = self.root / "templates" / name
        return local if local.is_file() else packaged_templates_dir() / name

    # -- config ---------------------------------------------------------
    @cached_property
    def model(self) -> Config:
        """devloop.yaml validated by pydantic (errors name the file and field)."""
        from devloop.config.load import load_config  # lazy: loads pydantic

        return load_config(self.root)

    @cached_property
    def config(self) -> Any:
        """The validated config with attribute access, without importing pydantic when the cache is valid."""
        return AttrView(self.config_view)

    def cached_config_view(self) -> dict[str, Any] | None:
        """The validated config from the cache, when devloop.yaml is unchanged since it was kept; else None.

        Read once per workspace object: setup asks it, then ``config_view`` (a no-op reads the cache once).
        """
        if "_cached_view" not in self.__dict__:
            self._cached_view = self._read_cached_view()
        return self._cached_view  # type: ignore[no-any-return]

    def _read_cached_view(self) -> dict[str, Any] | None:
        path = self.root / CONFIG_FILE
        try:
            sha = hash_bytes(path.read_bytes())
        except FileNotFoundError:
            sha = "default"
        sha += _schema_stamp()  # another devloop (a changed schema) never reads this one's cached view
        self._config_sha = sha
        try:
            cached = json.loads((self.state / "config-cache.json").read_text())
            if cached.get("sha") == sha:
                return cached["config"]  # type: ignore[no-any-return]
        except (OSError, ValueError, KeyError, AttributeError):
            pass
        return None

    @cached_property
    def config_view(self) -> dict[str, Any]:
        """The validated config as plain JSON data, from the cache when devloop.yaml is unchanged."""
        hit = self.cached_config_view()
        if hit is not None:
            return hit
        sha, cache = self._config_sha, self.state / "config-cache.json"
        view = self.model.model_dump(mode="json")
        try:
            from devloop.runtime.atomic import atomic_write_text  # lazy: off the path of a no-op doit

            self.ensure_state_dir()
            atomic_write_text(cache, json.dumps({"sha": sha, "config": view}))
        except OSError:
            pass
        return view

    def agent_name(self, role: str) -> str | list[str]:
        return self.config_view["roles"][role]

    def agent_view(self, name: str) -> dict[str, Any]:
        return self.config_view["agents"][name]


_REFUSED_SAID: set[tuple[Path, str]] = set()  # (workspace, folder) already named in this process


def _say_refused(root: Path, names: list[str]) -> None:
    """Name each badly named feature folder once per process, on stderr (a doit run and its workers alike)."""
    import re
    import sys

    # lazy: off the path of a no-op doit and devloop --help
    from devloop.config.names import feature_name_problem, is_feature_name

    for name in sorted(names):
        if (root, name) not in _REFUSED_SAID:
            _REFUSED_SAID.add((root, name))
            fixed = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            rename = f"; rename it to plans/{fixed}/" if is_feature_name(fixed) else ""
            print(
                f"devloop: plans/{name}/ is skipped, nothing is written for it: {feature_name_problem(name)}{rename}",
                file=sys.stderr,
                flush=True,
            )


class AttrView(dict):  # type: ignore[type-arg]
    """A read-only view of the cached config: ``cfg.roles.planner`` as well as ``cfg.agents.get(name)``."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: Any) -> Any:
        return _wrap(super().__getitem__(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return _wrap(super().get(key, default))

    def items(self) -> Any:
        return [(k, _wrap(v)) for k, v in super().items()]

    def values(self) -> Any:
        return [_wrap(v) for v in super().values()]


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, AttrView):
        return AttrView(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def confined(root: Path, rel: str) -> Path:
    """See :meth:`Workspace.confined`."""
    from devloop.runtime.errors import DevloopError  # lazy: off the path of a no-op doit and devloop --help

    parts = Path(rel).parts
    if "\0" in rel or not rel or Path(rel).is_absolute() or ".." in parts:
        raise DevloopError(f"refusing the path {rel!r}: devloop writes only relative paths inside the workspace")
    path = root / rel
    try:
        outside = not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        outside = True
    if outside:
        raise DevloopError(f"refusing to write {rel}: through a link it leads outside the workspace")
    return path


def _schema_stamp() -> str:
    """devloop's code as installed, without importing the schema (the cache exists to avoid pydantic)."""

    return f":{package_stamp()[0]}"
