"""Where the person stands: what devloop prints is typed back from there, so it says it from there.

``doit -k`` (or ``doit -f ../dodo.py``) run from a subfolder: doit moves to the workspace root before
devloop prints anything, so a workspace path in a ``Next:`` line would be wrong as typed, and a plain
``doit`` would not find dodo.py. The shell's ``PWD`` still names the folder the person typed in; when
it lies inside the workspace, paths are printed relative to it and ``doit`` as ``doit -k``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# A path of the workspace as devloop prints one: at least one "/" (plans/a/plan.md, .devloop/prompts/...)
# or a top-level file devloop names by itself; it starts where a word starts.
_PATH = re.compile(r"(?<![^\s(`'\",=])(\.?[\w@+-][\w.@+-]*(?:/[\w.@+-]+)+/?|devloop\.yaml|dodo\.py)")
_DOIT = re.compile(r"(?<![\w./-])doit(?![\w./-])(?! -k)")
_ELSEWHERE = ("-k", "--seek-file", "-f", "--file")


def person_dir(root: Path, argv: list[str] | None) -> Path | None:
    """The folder below ``root`` the person ran doit from, or None when it is the root (or unknown)."""
    if not argv or not any(a in _ELSEWHERE or a.startswith(("--file=", "--seek-file")) for a in argv):
        return None  # doit ran where dodo.py is: the person stands at the root
    pwd = os.environ.get("PWD")
    if not pwd:
        return None
    try:
        here, top = Path(pwd).resolve(), root.resolve()
    except OSError:
        return None
    if here == top or not here.is_relative_to(top) or not here.is_dir():
        return None
    return here


def from_here(text: str, root: Path, here: Path | None) -> str:
    """``text`` with the workspace's paths relative to ``here`` and ``doit`` as ``doit -k``; as is at the root."""
    if here is None or not text:
        return text

    def path(m: re.Match[str]) -> str:
        token = m.group(1)
        if not (root / token.split("/", 1)[0]).exists():
            return token  # not a path of this workspace (a URL's tail, a model name)
        rel = os.path.relpath(root / token, here)
        return rel + ("/" if token.endswith("/") and not rel.endswith("/") else "")

    return _DOIT.sub("doit -k", _PATH.sub(path, text))
