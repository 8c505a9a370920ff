"""The one interface every agent kind implements, and the records it exchanges.

An agent receives an :class:`AgentRequest` and returns an :class:`AgentResult`.
Kinds differ only in how the prompt reaches the model and how the answer comes
back; everything else (what to do with the answer) belongs to the steps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class CallStatus(enum.StrEnum):
    """How one agent call ended. Only ``ANSWERED`` carries a usable answer."""

    ANSWERED = "answered"
    WAITING = "waiting"  # a human has not written the artifact yet
    UNAVAILABLE = "unavailable"  # binary missing, timeout, not logged in
    ERROR = "error"  # non-zero exit, empty answer, crash


class RoleKind(enum.StrEnum):
    """Authors write files in the workspace; judges answer with text."""

    AUTHOR = "author"
    JUDGE = "judge"


@dataclass(frozen=True)
class AgentRequest:
    """Everything an agent needs for one call, already rendered."""

    prompt: str
    workspace: Path
    feature: str
    step: str
    role: str
    role_kind: RoleKind
    call_id: str  # unique within the feature and step, e.g. "round2-review"
    round: int = 1
    # Author roles: files the agent must leave in the workspace (relative).
    expected_files: tuple[str, ...] = ()
    # Judge roles: where devloop will store the answer (relative); a human
    # (manual agent) writes exactly this file.
    answer_path: str | None = None
    # Author roles revising existing files: their hashes before the call. A
    # human (manual agent) has answered once one of them has changed.
    before: tuple[tuple[str, str], ...] = ()
    # Author roles in a fix round: the files the confirmed findings point at (a person is told to edit them).
    focus: tuple[str, ...] = ()
    # The confinement of the program that answers (a devloop.confine.watch.Box): a command agent
    # runs its command line through it. None: run as configured (unit tests, kinds without a process).
    box: Any = None


@dataclass
class AgentResult:
    """The outcome of one call; ``text`` is the answer for judge roles."""

    status: CallStatus
    text: str = ""
    detail: str = ""  # one line for humans: why it failed or what it waits for
    agent: str = ""
    model: str | None = None
    duration_s: float = 0.0
    exit_code: int | None = None
    prompt_path: str | None = None  # manual agent: where the prompt was written
    usage: dict[str, int | float | None] = field(default_factory=dict)
    # The program ran and exited 0, but its answer is unusable (empty, not
    # UTF-8, too large): a review cycle counts it UNPARSEABLE, not DID_NOT_RUN.
    malformed: bool = False
    # A failure only a change of devloop.yaml or of the environment can fix (no key, a refused key, an
    # unknown model, a missing program): what to change, for the Next: line. Asking again before that
    # sends the same request and fails the same way.
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status is CallStatus.ANSWERED


class Agent(Protocol):
    """One configured agent. ``name`` is its key in ``devloop.yaml``."""

    name: str
    model: str | None

    def run(self, request: AgentRequest) -> AgentResult:
        """Make one call. Never raises for agent failures: report them."""
        ...
