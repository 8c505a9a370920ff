"""``devloop graph``: the step graph of each feature as Mermaid or Graphviz DOT, coloured by state.

The picture is drawn from the same place as ``devloop status`` (the engine's
``feature_status``), so the graph and the table never disagree. Output is
deterministic: features, steps and edges always come out in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping

from devloop.provenance.staleness import LABELS, Status
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
