"""Answers from recorded files: the offline demo and tests run the loop with no model.

Recorded answers live at ``<dir>/<feature>/<step>/<call_id>.md`` or, shared by
every feature, ``<dir>/<step>/<call_id>.md``. Author roles answer with fenced
``file=<path>`` blocks, like any text-only agent.
"""

from __future__ import annotations

import time
from pathlib import Path

from devloop.agents.base import AgentRequest, AgentResult, CallStatus
from devloop.provenance import ledger


class ReplayAgent:
    returns_file_blocks = True

    def __init__(self, name: str, folder: Path, model: str | None = None) -> None:
        self.name = name
        self.folder = folder
        self.model = model

    def candidates(self, request: AgentRequest) -> list[Path]:
        """Where the answer may be; the n-th ask of a call id (a later pass) prefers ``<call_id>.<k>.md``, k <= n."""
        base = self.folder if self.folder.is_absolute() else request.workspace / self.folder
        n = 1 + _times_answered(request)
        out = []
        for folder in (base / request.feature / request.step, base / request.step):
            out += [folder / f"{request.call_id}.{k}.md" for k in range(n, 1, -1)]
            out.append(folder / f"{request.call_id}.md")
        return out

    def run(self, request: AgentRequest) -> AgentResult:
        start = time.monotonic()
        for path in self.candidates(request):
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                status = CallStatus.ANSWERED if text.strip() else CallStatus.ERROR
                return AgentResult(
                    status,
                    text=text,
                    detail="" if text.strip() else f"recorded answer {path} is empty",
                    agent=self.name,
                    model=self.model,
                    duration_s=time.monotonic() - start,
                )
        tried = ", ".join(str(p) for p in self.candidates(request))
        return AgentResult(CallStatus.ERROR, detail=f"no recorded answer (looked for {tried})", agent=self.name)


def _times_answered(request: AgentRequest) -> int:
    """How often this feature's step already got an answer to this call id (earlier passes), from the ledger."""

    return sum(
        1
        for e in ledger.of_feature(request.workspace, request.feature)
        if e.get("step") == request.step and e.get("call") == request.call_id and e.get("status") == "answered"
    )
