"""What a step is, and the exceptions and records its run exchanges with the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devloop.steps.order import SUMMARIES

if TYPE_CHECKING:
    from devloop.config.workspace import Workspace
    from devloop.judging.answers import Parsed
    from devloop.provenance.state import FeatureLock
    from devloop.steps.run import StepRun


class Waiting(Exception):
    """A human has to write an artifact before the step can go on."""

    def __init__(self, detail: str, artifact: str = "", prompt_path: str | None = None) -> None:
        super().__init__(detail)
        self.detail, self.artifact, self.prompt_path = detail, artifact, prompt_path


class GateStop(Exception):
    """The step needs ``devloop approve <feature> <gate>`` to go on."""

    def __init__(self, gate: str, detail: str, artifact: str = "") -> None:
        super().__init__(detail)
        self.gate, self.detail, self.artifact = gate, detail, artifact


@dataclass
class Done:
    """A finished step: its artifact for the report and every output it owns."""

    artifact: str
    outputs: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Ask:
    """One judge call of a parallel batch."""

    call_id: str
    role: str
    prompt: str
    answer_path: str
    parse: Callable[[str], Parsed]
    rnd: int = 1
    agent_name: str | None = None
    # The prompt as the answer cache keys it, when part of ``prompt`` is context that changes every run
    # and not the question (the evaluator's measured times). None: ``prompt`` itself.
    key_prompt: str | None = None


@dataclass
class AskResult:
    """How a judge call of a batch ended: answered, did_not_run, unparseable or waiting."""

    status: str
    ask: Ask
    data: dict[str, Any] | None = None
    detail: str = ""
    model: str | None = None
    prompt_path: str | None = None
    fix: str = ""  # the agent's failure is one only devloop.yaml or the environment can fix: what to change


def waiting_on(results: list[AskResult]) -> Waiting | None:
    """One stop for every judge of a batch that waits on a person (what each asks, in the agent's words)."""
    waiting = [r for r in results if r.status == "waiting"]
    if not waiting:
        return None
    detail = "; ".join(r.detail for r in waiting)
    return Waiting(detail, waiting[0].ask.answer_path, waiting[0].prompt_path)


class Step:
    """Subclasses declare their roles, templates and files, and write ``run``."""

    name = ""
    roles: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    policy: str | None = None  # key under ``steps:`` in devloop.yaml

    @property
    def summary(self) -> str:
        """One line for `doit list` (kept in :mod:`devloop.steps.order`, which the task graph reads)."""

        return SUMMARIES.get(self.name, "")

    def inputs(self, ws: Workspace, feature: str, lock: FeatureLock) -> list[str]:
        raise NotImplementedError

    def facts(self, ws: Workspace, feature: str, lock: FeatureLock) -> dict[str, str]:
        """Inputs that are not files (e.g. the deploy stamp), as name -> hash."""
        return {}

    def optional(self, ws: Workspace, feature: str, lock: FeatureLock) -> bool:
        """True when later steps need not wait for this one (e.g. smoke for a feature with nothing to deploy)."""
        return False

    def declared_outputs(self, ws: Workspace, feature: str) -> list[str]:
        """Outputs known before the step runs (checked for existence)."""
        return []

    def vet(self, ws: Workspace, feature: str) -> str | None:
        """Why the step's outputs as they stand may not be adopted (a hand edit too), or None."""
        return None

    def run(self, run: StepRun) -> Done:
        raise NotImplementedError
