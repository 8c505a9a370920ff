"""Answers from recorded files: the offline demo and tests run the loop with no model.

Recorded answers live at ``<dir>/<feature>/<step>/<call_id>.md`` or, shared by
every feature, ``<dir>/<step>/<call_id>.md``. Author roles answer with fenced
``file=<path>`` blocks, like any text-only agent.
"""

from __future__ import annotations

import time
from pathlib import Path

from devloop.agents.base import AgentRequest, AgentResult, CallStatus


class ReplayAgent:
    returns_file_blocks = True

    def __init__(self, name: str, folder: Path, model: str | None = None) -> None:
        self.name = name
        self.folder = folder
        self.model = model

    def candidates(self, request: AgentRequest) -> list[Path]:
        base = self.folder if self.folder.is_absolute() else request.workspace / self.folder
        return [
            base / request.feature / request.step / f"{request.call_id}.md",
            base / request.step / f"{request.call_id}.md",
        ]

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
