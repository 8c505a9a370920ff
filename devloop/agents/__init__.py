"""Agent kinds behind one Protocol; ``build_agent`` maps a config ``kind`` to its class.

Each kind (command, openai, manual, replay) is a module of its own and none
imports another; they may import confine, config, provenance and the
runtime, never a step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devloop.agents.base import Agent, AgentRequest, AgentResult, CallStatus, RoleKind

__all__ = ["Agent", "AgentRequest", "AgentResult", "CallStatus", "RoleKind", "build_agent"]


def build_agent(name: str, config: Any, env_allow: list[str] | None = None) -> Agent:
    """Instantiate the agent ``name`` from its validated config model."""
    kind = config.kind
    if kind == "command":
        from devloop.agents.command import CommandAgent  # lazy: each kind loads only when configured

        return CommandAgent(name, config, list(env_allow or []))
    if kind == "openai":
        from devloop.agents.openai import OpenAIAgent  # lazy: each kind loads only when configured

        return OpenAIAgent(name, config)
    if kind == "manual":
        from devloop.agents.manual import ManualAgent  # lazy: each kind loads only when configured

        return ManualAgent(name)
    if kind == "replay":
        from devloop.agents.replay import ReplayAgent  # lazy: each kind loads only when configured

        return ReplayAgent(name, Path(config.dir), config.model)
    raise ValueError(f"unknown agent kind {kind!r}")
