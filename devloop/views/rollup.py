"""``devloop rollup``: what the evaluations say about the loop itself, every N evaluations or monthly.

One evaluation tells how one feature went; only many of them show what the
loop keeps getting wrong. The roll-up reads every ``plans/<f>/evaluation.md``
(and the evaluation time from the lock), never an agent, and turns a
suggestion that recurs across evaluations into a proposed change to a named
template or config section.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devloop.config.workspace import Workspace
from devloop.judging.answers import DIMENSIONS, fenced_blocks, parse_evaluation
from devloop.runtime.atomic import archive, atomic_write_bytes, atomic_write_text
from devloop.runtime.words import count

STATE = "runs/rollup-state.json"
# Where a recurring complaint about a dimension is most likely fixed.
TARGETS = {
    "plan_quality": "templates/plan.md.j2",
    "review_usefulness": "templates/code_review.md.j2 / templates/plan_review.md.j2",
    "implementation_drift": "templates/implement.md.j2",
    "trigger_correctness": "steps.red_team / steps.deploy_review in devloop.yaml",
}
STOP = frozenset(
    "a an and are as at be been by can could do does each every for from has have in into is it its more "
    "no not of on or should so than that the their then there this to too was we were will with would".split()
)
SIMILAR = 0.5  # Jaccard of normalised words at which two suggestions count as the same one
LOWEST = 5


@dataclass
class Evaluation:
    feature: str
    time: dt.datetime
    scores: dict[str, int]
    findings: list[dict[str, Any]]


@dataclass
class Group:
    """Suggestions that say the same thing; ``members`` are (feature, dimension, text)."""

    members: list[tuple[str, str, str]] = field(default_factory=list)
    words: list[frozenset[str]] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return sorted({m[0] for m in self.members})

    @property
    def dimension(self) -> str:
        counts = Counter(m[1] for m in self.members)
        order = {d: i for i, d in enumerate(DIMENSIONS)}
        return min(counts, key=lambda d: (-counts[d], order.get(d, len(order)), d))


def collect(ws: Workspace) -> tuple[list[Evaluation], list[str]]:
    """Every parseable evaluation, oldest first, and a note for each one skipped."""
    out: list[Evaluation] = []
    skipped: list[str] = []
    for f in ws.features():
        path = ws.feature_dir(f) / "evaluation.md"
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        parsed = parse_evaluation(text)
        if not parsed.ok:
            skipped.append(f"plans/{f}/evaluation.md: {parsed.reason}")
            continue
        rec = ws.read_lock_shared(f).record("evaluate")
        finished = rec.finished if rec else None
        when = _when(finished) or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        out.append(Evaluation(f, when, parsed.extra["scores"], _findings(text)))
    out.sort(key=lambda e: (e.time, e.feature))
    return out, skipped


def _when(value: Any) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _findings(text: str) -> list[dict[str, Any]]:
    """The findings of an answer parse_evaluation accepted (it keeps only the scores)."""
    from devloop.runtime.safeyaml import YamlLimit, load  # lazy: loads yaml

    block = next(b for b in fenced_blocks(text)[0] if b.info.lower() in ("yaml", "yml"))
    try:
        found = (load(block.body) or {}).get("findings") or []
    except YamlLimit:
        return []
    return [x for x in found if isinstance(x, dict) and str(x.get("suggestion") or "").strip()]


# -- cadence -------------------------------------------------------------------
def load_state(ws: Workspace) -> dict[str, Any]:
    try:
        return json.loads((ws.root / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def due(
    evals: list[Evaluation], state: dict[str, Any], now: dt.datetime, every: int = 10, monthly: bool = True
) -> tuple[bool, str]:
    """Due after ``every`` new evaluations, or once the month turned since the last roll-up (or first evaluation)."""
    last = _when(state.get("at")) if state.get("at") else None
    newer = [e for e in evals if last is None or e.time > last]
    since = f"since the last roll-up ({last:%Y-%m-%d})" if last else "and no roll-up yet"
    if not newer:
        return False, f"no new evaluation {since}"
    if len(newer) >= every:
        return True, f"{len(newer)} new evaluations {since} (a roll-up every {every})"
    ref = last or newer[0].time
    if monthly and (ref.year, ref.month) != (now.year, now.month):
        return True, f"the month changed since {ref:%Y-%m} ({len(newer)} new evaluation(s))"
    when = f" or in {_next_month(now):%Y-%m}" if monthly else ""
    return False, f"{len(newer)} of {every} new evaluations {since}; due after {every - len(newer)} more{when}"


def _next_month(now: dt.datetime) -> dt.date:
    return dt.date(now.year + now.month // 12, now.month % 12 + 1, 1)


# -- grouping ------------------------------------------------------------------
def words(text: str) -> frozenset[str]:
    """Lower-case words without filler, crudely stemmed, so that rewordings still match."""
    out = set()
    for w in re.findall(r"[a-z0-9_]+", text.lower()):
        if w in STOP:
            continue
        for suffix in ("ing", "ed", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
        out.add(w[:-1] if w.endswith("e") and len(w) > 3 else w)
    return frozenset(out)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def group_suggestions(evals: list[Evaluation], threshold: float = SIMILAR) -> list[Group]:
    """Single-link groups in time order: a suggestion joins the first group holding a similar one."""
    groups: list[Group] = []
    for e in evals:
        for x in e.findings:
            text = " ".join(str(x["suggestion"]).split())
            w = words(text)
            home = next((g for g in groups if any(jaccard(w, o) >= threshold for o in g.words)), None)
            if home is None:
                home = Group()
                groups.append(home)
            home.members.append((e.feature, str(x.get("dimension") or "?"), text))
            home.words.append(w)
    return groups


# -- writing -------------------------------------------------------------------
def render(evals: list[Evaluation], groups: list[Group], skipped: list[str], title: str, chart: str | None) -> str:
    """The roll-up page; the proposed changes come first because they are what a reader acts on."""
    out = [f"# Loop roll-up {title}", "", f"From {len(evals)} evaluation(s); {len(skipped)} skipped.", ""]
    out += _proposals(groups) + ([f"![Scores over time]({chart})", ""] if chart else [])
    out += _scores(evals) + _trend(evals) + _lowest(evals) + _suggestions(groups)
    out += ["## Skipped evaluations", "", *([f"- {s}" for s in skipped] or ["None."]), ""]
    return "\n".join(out)


def _proposals(groups: list[Group]) -> list[str]:
    recurring = sorted((g for g in groups if len(g.features) >= 2), key=lambda g: -len(g.features))
    out = ["## Proposed changes to the loop", ""]
    for i, g in enumerate(recurring, 1):
        where = TARGETS.get(g.dimension, "devloop.yaml")
        seen = f"seen in {len(g.features)} evaluations: {_names(g.features)}"
        out.append(f"{i}. **{g.dimension}** → `{where}`: {g.members[0][2]} ({seen})")
    return [*out, *([] if recurring else ["None: no suggestion recurred in two or more evaluations."]), ""]


def _scores(evals: list[Evaluation]) -> list[str]:
    out = ["## Scores by dimension", "", "| dimension | average | minimum | features below 4 |", "|---|---|---|---|"]
    low = {d: [e.feature for e in evals if e.scores[d] < 4] for d in DIMENSIONS}
    for d in DIMENSIONS:
        vals = [e.scores[d] for e in evals]
        avg, least = (f"{sum(vals) / len(vals):.2f}", str(min(vals))) if vals else ("-", "-")
        out.append(f"| {d} | {avg} | {least} | {len(low[d])} |")
    out += ["", "## Sub-4 dimensions", ""]
    for d in sorted((d for d in DIMENSIONS if low[d]), key=lambda d: -len(low[d])):
        recurring = " (recurring)" if len(low[d]) >= 2 else ""
        out.append(f"- {d}: {count(len(low[d]), 'feature')} below 4{recurring}: {_names(low[d])}")
    return [*out, *([] if any(low.values()) else ["None."]), ""]


def _lowest(evals: list[Evaluation]) -> list[str]:
    out = ["## Lowest-scoring features", ""]
    for e in sorted(evals, key=lambda e: (sum(e.scores.values()), e.time, e.feature))[:LOWEST]:
        detail = ", ".join(f"{d} {e.scores[d]}" for d in DIMENSIONS)
        out.append(f"- {e.feature} (total {sum(e.scores.values())}; {detail}; evaluated {e.time:%Y-%m-%d})")
    return [*out, ""]


def _suggestions(groups: list[Group]) -> list[str]:
    out = ["## Suggestions by similarity", ""]
    for g in sorted(groups, key=lambda g: -len(g.features)):
        out.append(f"- [{g.dimension}, {len(g.features)} evaluation(s)] {g.members[0][2]}")
        out += [f"  - {f} ({d}): {t}" for f, d, t in g.members]
    return [*out, *([] if groups else ["None."]), ""]


def _names(features: list[str], limit: int = 8) -> str:
    more = f" and {len(features) - limit} more" if len(features) > limit else ""
    return ", ".join(features[:limit]) + more


def _trend(evals: list[Evaluation]) -> list[str]:
    """Average per month, and first half against second half of the evaluations in time order."""
    out = ["## Trend", "", "| period | evaluations | " + " | ".join(DIMENSIONS) + " |", "|---" * 6 + "|"]
    months: dict[str, list[Evaluation]] = {}
    for e in evals:
        months.setdefault(f"{e.time:%Y-%m}", []).append(e)
    half = len(evals) // 2
    periods = [*months.items(), *([("first half", evals[:half]), ("second half", evals[half:])] if half else [])]
    for name, group in periods:
        avgs = [f"{sum(e.scores[d] for e in group) / len(group):.2f}" for d in DIMENSIONS]
        out.append(f"| {name} | {len(group)} | " + " | ".join(avgs) + " |")
    return [*out, ""]


def write_chart(evals: list[Evaluation], path: Path) -> None:
    """One line per dimension in evaluation order; matplotlib loads here only, with the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = list(range(1, len(evals) + 1))
    for i, d in enumerate(DIMENSIONS):
        offset = (i - 1.5) * 0.05  # keeps equal scores of different dimensions visible
        ax.plot(xs, [e.scores[d] + offset for e in evals], marker="o", markersize=3, label=d)
    ticks = xs[:: max(1, len(xs) // 8)]
    ax.set_xticks(ticks, [f"{evals[x - 1].time:%Y-%m-%d}" for x in ticks], rotation=30, fontsize=7)
    ax.set_ylim(0.5, 5.5)
    ax.set_ylabel("score (1-5)")
    ax.set_xlabel("evaluations, oldest to newest")
    ax.set_title("Evaluation scores over time")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())


def rollup(
    ws: Workspace, force: bool = False, now: dt.datetime | None = None, every: int = 10, monthly: bool = True
) -> tuple[Path | None, str]:
    """Write runs/rollup-<YYYYMM>.md (+ .png) when due or forced; returns its path (or None) and why."""
    now = now or dt.datetime.now(dt.UTC)
    evals, skipped = collect(ws)
    is_due, why = due(evals, load_state(ws), now, every, monthly)
    if not (is_due or force):
        return None, why
    runs = ws.root / "runs"
    md, png = runs / f"rollup-{now:%Y%m}.md", runs / f"rollup-{now:%Y%m}.png"
    for old in (md, png):
        archive(ws.root, old, runs / ".history", "rollup")
    if evals:
        write_chart(evals, png)
    text = render(evals, group_suggestions(evals), skipped, f"{now:%Y-%m}", png.name if evals else None)
    atomic_write_text(md, text)
    state = {"at": now.replace(microsecond=0).isoformat(), "file": ws.rel(md), "evaluations": len(evals)}
    atomic_write_text(ws.root / STATE, json.dumps(state, indent=2) + "\n")
    return md, why if is_due else f"forced ({why})"
