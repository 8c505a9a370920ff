"""devloop.yaml and the workspace: the pydantic models and the one loader that parses them.

Also the workspace object (paths, the config's cached view, locks and
memos), feature names and the presets of real agent CLIs. May import
provenance and the runtime. Importing this package costs nothing until a
name is used (PEP 562): the no-op ``doit`` reads devloop.yaml's cached view
without pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devloop.config.load import CONFIG_FILE, load_config
    from devloop.config.models import Config

__all__ = ["CONFIG_FILE", "Config", "load_config"]
_WHERE = {"CONFIG_FILE": "devloop.config.load", "load_config": "devloop.config.load", "Config": "devloop.config.models"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'devloop.config' has no attribute {name!r}")
