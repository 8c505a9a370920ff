"""Feature names: kebab-case only, checked before any file is touched."""

from __future__ import annotations

import re

from devloop.runtime.errors import FeatureNameError

FEATURE_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_LEN = 64


AGENT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # agent names become file names: review-<agent>-round1.md


def is_agent_name(name: str) -> bool:
    """Lower case letters, digits, ``-`` and ``_``, not starting with a separator: never a path."""
    return len(name) <= MAX_LEN and AGENT_RE.fullmatch(name) is not None


def is_feature_name(name: str) -> bool:
    return len(name) <= MAX_LEN and FEATURE_RE.fullmatch(name) is not None


def feature_name_problem(name: str) -> str | None:
    """Why ``name`` is not a feature name (the rule, in one line), or None when it is one."""
    if not name:
        return "feature name is empty; use kebab-case, e.g. daily-ingest"
    if len(name) > MAX_LEN:
        return f"feature name {name!r} is longer than {MAX_LEN} characters"
    if not FEATURE_RE.fullmatch(name):
        return (
            f"feature name {name!r} is not kebab-case: use lowercase letters, digits and "
            "single hyphens (e.g. daily-ingest); no spaces, slashes, dots or uppercase"
        )
    return None


def check_feature_name(name: str) -> str:
    """Return ``name`` if it is a valid feature name, else raise with the reason."""
    problem = feature_name_problem(name)
    if problem is not None:
        raise FeatureNameError(problem)
    return name
