"""``devloop graph``: the step graph of each feature as Mermaid or Graphviz DOT, coloured by state.

With Graphviz's ``dot`` on PATH it is also drawn as an SVG or PNG file
(:func:`draw`) and opened with the platform's opener (:func:`open_file`).

The picture is drawn from the same place as ``devloop status`` (the engine's
``feature_status``), so the graph and the table never disagree. Output is
deterministic: features, steps and edges always come out in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from devloop.provenance.staleness import LABELS, Status
from devloop.runtime.atomic import atomic_write_bytes
from devloop.runtime.errors import DevloopError
from devloop.steps.registry import ORDER, doit_dep

# state -> (fill, stroke); every state gets a class so the legend is complete.
COLORS = {
    "fresh": ("#d4edda", "#2e7d32"),
    "drifted": ("#e8f5e9", "#6d8f3a"),
    "stale": ("#fff3cd", "#b26a00"),
    "forced": ("#fff3cd", "#b26a00"),
    "edited": ("#fff3cd", "#b26a00"),
    "failed": ("#f8d7da", "#c62828"),
    "interrupted": ("#f8d7da", "#c62828"),
    "waiting": ("#d6e9f8", "#1565c0"),
    "gate": ("#d6e9f8", "#1565c0"),
    "running": ("#d6e9f8", "#1565c0"),
    "blocked": ("#eeeeee", "#757575"),
    "new": ("#ffffff", "#9e9e9e"),
}
MARKED = ("stale", "forced", "edited", "failed", "interrupted", "waiting", "gate")  # drawn with a heavy border


def edges() -> list[tuple[str, str, bool]]:
    """(from, to, dashed): doit's task dependencies, plus evaluate waiting on a smoke run when there is one."""
    out = [(dep, s, False) for s in ORDER if (dep := doit_dep(s))]
    out.append(("smoke", "evaluate", True))
    return out


def _safe(feature: str) -> str:
    """A Mermaid id: prefixed (a feature may be called ``end``), and kebab-case cannot collide on ``_``."""
    return "f_" + feature.replace("-", "_")


def _node(feature: str, step: str) -> str:
    return f"{_safe(feature)}__{step}"


def mermaid(rows: Mapping[str, Mapping[str, Status]]) -> str:
    lines = ["flowchart LR"]
    by_state: dict[str, list[str]] = {}
    for f, steps in rows.items():
        lines.append(f'  subgraph {_safe(f)}["{f}"]')
        for s in ORDER:
            st = steps[s]
            lines.append(f'    {_node(f, s)}["{s}<br/>{LABELS[st.state]}"]')
            by_state.setdefault(st.state, []).append(_node(f, s))
        for a, b, dashed in edges():
            lines.append(f"    {_node(f, a)} {'-.->' if dashed else '-->'} {_node(f, b)}")
        lines.append("  end")
    for state, (fill, stroke) in COLORS.items():
        width = "3px" if state in MARKED else "1px"
        lines.append(f"  classDef {state} fill:{fill},stroke:{stroke},stroke-width:{width}")
    for state in COLORS:
        if by_state.get(state):
            lines.append(f"  class {','.join(by_state[state])} {state}")
    return "\n".join(lines) + "\n"


def dot(rows: Mapping[str, Mapping[str, Status]]) -> str:
    lines = [
        "digraph devloop {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    ]
    for f, steps in rows.items():
        lines += [f'  subgraph "cluster_{f}" {{', f'    label="{f}";']
        for s in ORDER:
            st = steps[s]
            fill, stroke = COLORS[st.state]
            width = 3 if st.state in MARKED else 1
            lines.append(
                f'    "{f}/{s}" [label="{s}\\n{LABELS[st.state]}", fillcolor="{fill}", color="{stroke}", '
                f"penwidth={width}];"
            )
        for a, b, dashed in edges():
            lines.append(f'    "{f}/{a}" -> "{f}/{b}"{" [style=dashed]" if dashed else ""};')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(rows: Mapping[str, Mapping[str, Status]], fmt: str = "mermaid") -> str:
    """``rows`` is feature -> step -> Status, as ``engine.feature_status`` gives it."""
    return dot(rows) if fmt == "dot" else mermaid(rows)


# -- pictures -------------------------------------------------------------------
# A picture is drawn by Graphviz's ``dot`` from the DOT text above. No pure-Python
# renderer of DOT or Mermaid on PyPI was found credible enough to depend on (the
# candidates were months old, single-maintainer, or a bundled native binary),
# so without ``dot`` devloop says how to get it instead of drawing badly.
PICTURES = ("svg", "png")
RENDER_TIMEOUT_S = 60.0
NO_DOT = (
    "devloop graph --format {fmt} needs Graphviz's `dot` on PATH, which was not found: "
    "apt install graphviz (Debian, Ubuntu) or brew install graphviz (macOS); "
    "--format dot and --format mermaid work without it"
)


def find_dot() -> str | None:
    """The ``dot`` executable on PATH, or None."""
    import shutil

    return shutil.which("dot")


def draw(dot_text: str, fmt: str, out: Path) -> None:
    """Render ``dot_text`` to ``out`` as ``fmt`` (svg or png) with Graphviz; DevloopError when it cannot."""
    import subprocess

    if fmt not in PICTURES:
        raise ValueError(f"not a picture format: {fmt}")
    exe = find_dot()
    if exe is None:
        raise DevloopError(NO_DOT.format(fmt=fmt))
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DevloopError(f"{exe} -T{fmt} did not finish within {RENDER_TIMEOUT_S:g} s") from None
    except OSError as exc:
        raise DevloopError(f"cannot run {exe}: {exc.strerror or exc}") from None
    if done.returncode != 0 or not done.stdout:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else f"exit code {done.returncode}, no output"
        raise DevloopError(f"{exe} -T{fmt} failed: {why[:300]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, done.stdout)


def opener() -> list[str] | None:
    """The platform's command that opens a file in its default viewer, or None when there is none."""
    import shutil
    import sys

    if sys.platform == "darwin":
        candidates = [["open"]]
    elif sys.platform == "win32":
        return ["cmd", "/c", "start", ""] if shutil.which("cmd") else None
    else:
        candidates = [["xdg-open"], ["gio", "open"], ["wslview"]]
    for argv in candidates:
        if shutil.which(argv[0]):
            return argv
    return None


def open_file(path: Path) -> str | None:
    """Open ``path`` with the platform's opener, without waiting for the viewer; the opener's name, or None."""
    import subprocess

    argv = opener()
    if argv is None:
        return None
    try:
        subprocess.Popen(
            [*argv, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return None
    return argv[0]
