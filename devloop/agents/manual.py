"""A human plays the role: devloop writes the prompt to a file and waits.

The call is answered once the human has saved the artifact(s) it asks for;
until then it is WAITING, which the step reports as ``Next: write <file>``.
"""

from __future__ import annotations

import time
from pathlib import Path

from devloop.agents.base import AgentRequest, AgentResult, CallStatus, RoleKind
from devloop.config.workspace import confined
from devloop.provenance.hashing import hash_file
from devloop.runtime.atomic import atomic_write_text

MAX_ANSWER_BYTES = 10 * 1024 * 1024  # as for every other agent kind


def _has_content(path: Path) -> bool:
    try:
        return path.is_file() and _head(path).decode("utf-8", errors="replace").strip() != ""
    except OSError:
        return False


def _head(path: Path) -> bytes:
    """The file, read at most one byte past the cap (so an oversized answer is seen, not loaded)."""
    with path.open("rb") as fh:
        return fh.read(MAX_ANSWER_BYTES + 1)


def _person_seconds(ws: Path, prompt: str, wanted: list[str]) -> float:
    """A person's time: from when their prompt was written to when they last saved what it asked for."""
    try:
        asked = (ws / prompt).stat().st_mtime
        saved = max((ws / p).stat().st_mtime for p in wanted) if wanted else asked
    except (OSError, ValueError):
        return 0.0
    return max(0.0, saved - asked)


class ManualAgent:
    returns_file_blocks = False

    def __init__(self, name: str, model: str | None = None) -> None:
        self.name = name
        self.model = None

    def prompt_path(self, request: AgentRequest) -> str:
        return f".devloop/prompts/{request.feature}/{request.step}-{request.call_id}.md"

    def run(self, request: AgentRequest) -> AgentResult:
        """Answered once every wanted file has content and one of them (or a watched file) changed.

        ``request.before`` holds the hashes from when the prompt was first
        written: a person answers by changing a file, so an artifact left as
        it was (an earlier evaluation, a plan the step re-runs for) is never
        taken as a new answer.
        """
        start = time.monotonic()
        ws = request.workspace
        if request.role_kind is RoleKind.JUDGE:
            wanted = [request.answer_path] if request.answer_path else []
        else:
            wanted = list(request.expected_files)
        missing = [p for p in wanted if not _has_content(ws / p)]
        unchanged = bool(request.before) and all(hash_file(ws / p) == h for p, h in request.before)
        if not missing and not unchanged:
            text = ""
            if request.role_kind is RoleKind.JUDGE:
                raw = _head(ws / wanted[0])
                problem = "larger than 10 MB" if len(raw) > MAX_ANSWER_BYTES else None
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    problem = problem or "not valid UTF-8"
                if problem:
                    detail = f"{wanted[0]} is {problem}"
                    return AgentResult(CallStatus.ERROR, detail=detail, agent=self.name, malformed=True)
            took = _person_seconds(ws, self.prompt_path(request), wanted) or time.monotonic() - start
            return AgentResult(CallStatus.ANSWERED, text=text, agent=self.name, duration_s=took)

        for p in wanted:  # so the human can save the file where it is expected
            confined(ws, p).parent.mkdir(parents=True, exist_ok=True)
        rel = self.prompt_path(request)
        path = confined(ws, rel)
        (ws / ".devloop").mkdir(exist_ok=True)
        ignore = ws / ".devloop" / ".gitignore"
        if not ignore.exists():
            atomic_write_text(ignore, "*\n")
        atomic_write_text(path, request.prompt)
        verb, files = ("write", missing) if missing else ("revise", [*request.focus, *wanted])
        return AgentResult(
            CallStatus.WAITING,
            detail=f"{verb} {', '.join(files)} (prompt: {rel})",
            agent=self.name,
            prompt_path=rel,
        )
