"""Mechanical lint of the plan/implementation boundary in plan.md (seed 001, step 2).

The plan owns contracts and behaviour; the implementer owns the code. A large
fenced block of application source in plan.md means the planner is writing the
code, so the plan reviewer is shown where. Declarative artifacts (SQL, YAML,
IAM, schemas, prompts, config) are the deployable thing itself and are never
flagged, whatever their size. The lint only reads the text it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

APPLICATION_LANGUAGES: frozenset[str] = frozenset(
    {
        "python", "py", "javascript", "js", "typescript", "ts", "tsx", "jsx", "go", "golang", "java",
        "kotlin", "kt", "rust", "rs", "c", "cpp", "c++", "csharp", "cs", "ruby", "rb", "php", "swift",
        "scala", "bash", "sh", "shell", "zsh", "powershell", "ps1", "perl", "lua", "dart", "elixir",
        "haskell", "r",
    }
)  # fmt: skip
"""Fence info words that mean application source: too much of it belongs to the implementer."""

DECLARATIVE_LANGUAGES: frozenset[str] = frozenset(
    {
        "sql", "yaml", "yml", "json", "jsonc", "hcl", "terraform", "tf", "toml", "ini", "xml", "proto",
        "protobuf", "graphql", "gql", "iam", "policy", "prompt", "text", "txt", "markdown", "md",
        "mermaid", "csv", "dockerfile", "diff", "cron", "properties", "env",
    }
)  # fmt: skip
"""Fence info words of artifacts the plan may state verbatim (a Dockerfile is a deploy artifact)."""

ADVICE = "describe it as contracts, behaviour, examples or tests instead"

_OPEN = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_CODE_START = ("def ", "class ", "import ", "function ", "return ", "func ", "public ", "private ", "#include")


@dataclass
class Flag:
    """One fenced block that crosses the boundary; lines are 1-based, ``lines`` counts non-blank body lines."""

    start_line: int
    end_line: int
    language: str
    lines: int
    reason: str


@dataclass
class _Fence:
    start_line: int
    end_line: int
    info: str
    body: list[str]


def info_word(info: str) -> str:
    """The language of a fence: its first info word, lowercased, cut at a space or ``{``."""
    return re.split(r"[\s{]", info.strip(), maxsplit=1)[0].lower()


def _fences(text: str) -> list[_Fence]:
    """Top-level fenced blocks with their line numbers; an unclosed fence runs to the end of the text."""
    lines = text.splitlines()
    out: list[_Fence] = []
    current: _Fence | None = None
    marker = ""
    for number, line in enumerate(lines, start=1):
        m = _OPEN.match(line)
        if current is None:
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                marker, current = m.group(1), _Fence(number, number, m.group(2).strip(), [])
            continue
        closes = m and m.group(1)[0] == marker[0] and len(m.group(1)) >= len(marker) and not m.group(2).strip()
        if closes:
            current.end_line = number
            out.append(current)
            current = None
        else:
            current.body.append(line)
    if current is not None:
        current.end_line = max(len(lines), current.start_line)
        out.append(current)
    return out


def _looks_like_code(line: str) -> bool:
    """A cheap signal that an unlabelled line is program source rather than prose or data."""
    s = line.strip()
    if s.startswith(_CODE_START) or "=>" in s or s.endswith(";"):
        return True
    # `{` at the end of a statement; a bare `{` or a JSON key opening an object is data.
    return s.endswith("{") and s != "{" and '":' not in s


def lint_plan(text: str, max_code_lines: int = 15) -> list[Flag]:
    """Flag application-code blocks with more than ``max_code_lines`` non-blank body lines.

    Unlabelled blocks are flagged only when at least three lines look like code,
    so a long unlabelled list or transcript does not trip the lint.
    """
    flags: list[Flag] = []
    for fence in _fences(text):
        size = sum(1 for line in fence.body if line.strip())
        if size <= max_code_lines:
            continue
        language = info_word(fence.info)
        if language in APPLICATION_LANGUAGES:
            reason = f"a {size}-line {language} block; {ADVICE}"
        elif not language and sum(1 for line in fence.body if _looks_like_code(line)) >= 3:
            reason = (
                f"a {size}-line unlabelled block that looks like code; {ADVICE} "
                "(or label its language if it is a declarative artifact)"
            )
        else:
            continue
        flags.append(Flag(fence.start_line, fence.end_line, language, size, reason))
    return flags


def render_flags(path: str, flags: list[Flag]) -> str:
    """One ``path:start-end: reason`` line per flag, for review prompts and the terminal."""
    if not flags:
        return "No boundary problems found."
    return "\n".join(f"{path}:{f.start_line}-{f.end_line}: {f.reason}" for f in flags)
