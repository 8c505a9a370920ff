"""The key of an agent call: a hash of everything that can change its answer, and of no secret.

Pure: the caller gathers the parts (the rendered prompt, the agent's seat,
for an author the state of the workspace it reads); this module only
chooses what of them counts and hashes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devloop.provenance.hashing import hash_json

# Bumped when what an entry means changes (its fields, how a step reads it): older entries are never found.
CONTRACT = 1

# The fields of an agent's configuration that decide what it answers. Timeouts, retries, the sandbox and
# the environment allow-list decide whether it answers, not what: two seats differing only there share
# answers. ``env`` is kept by its names only (its values may be secrets).
SEAT_FIELDS = (
    "kind",
    "preset",
    "argv",
    "args",
    "prompt",
    "output",
    "answer",
    "model",
    "base_url",
    "temperature",
    "max_tokens",
    "system",
    "dir",
)


def seat(agent: Mapping[str, Any]) -> dict[str, Any]:
    """What of an agent's configuration (devloop.yaml's ``agents.<name>``) is part of its calls' keys."""
    out = {k: agent[k] for k in SEAT_FIELDS if agent.get(k) is not None}
    env = agent.get("env") or {}
    if env:
        out["env"] = sorted(env)
    return out


def call_key(
    *,
    step: str,
    role: str,
    call_id: str,
    prompt: str,
    contract: str,
    seat: Mapping[str, Any],
    workspace: Mapping[str, str] | None = None,
) -> str:
    """The key (sha256 hex) of one question.

    ``contract`` names how the answer is read (a judge's grammar, or the
    files an author must leave); ``workspace`` is, for an author, the state
    of the files it may read beyond its prompt (path -> git blob id).
    """
    return hash_json(
        {
            "cache": CONTRACT,
            "step": step,
            "role": role,
            "call": call_id,
            "prompt": prompt,
            "contract": contract,
            "seat": dict(seat),
            "workspace": dict(workspace) if workspace is not None else None,
        }
    )
