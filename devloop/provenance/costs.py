"""Totals over the ledger: calls, time, tokens and cost, keeping unknown cost unknown."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def usd(amount: float | None) -> str:
    """A cost in dollars for people: ``$0.0250`` from a cent up, two significant digits below (``$0.000050``).

    ``None`` (nobody reported it) is ``unknown``; only a cost that is exactly zero is ``$0``, so a
    fraction of a cent never reads as free.
    """
    if amount is None:
        return "unknown"
    if amount == 0:
        return "$0"
    if not math.isfinite(amount):
        return f"${amount}"
    sign, size = ("-" if amount < 0 else ""), abs(amount)
    if size >= 0.01:
        return f"{sign}${size:.4f}"
    rounded = float(f"{size:.2g}")  # two significant digits, then as many decimals as they need
    decimals = max(4, 1 - math.floor(math.log10(rounded)))
    return f"{sign}${rounded:.{decimals}f}"


@dataclass
class Total:
    calls: int = 0
    failed: int = 0
    seconds: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    unknown_cost: int = 0  # calls whose cost nobody reported
    unknown_tokens: int = 0
    person_calls: int = 0  # answers a person gave (the manual agent): their time is not agent time
    person_seconds: float = 0.0
    restored: int = 0  # answers restored from the answer cache: not calls; what they saved is counted apart
    saved_seconds: float = 0.0
    saved_usd: float = 0.0
    saved_unknown: int = 0  # restores whose original call's cost nobody reported
    keys: set[str] = field(default_factory=set)

    def add(self, e: dict[str, Any]) -> None:
        if e.get("status") == "restored":
            self.restored += 1
            self.saved_seconds += float(e.get("saved_s") or 0)
            if e.get("saved_usd") is None:
                self.saved_unknown += 1
            else:
                self.saved_usd += float(e["saved_usd"])
            return
        self.calls += 1
        self.failed += e.get("status") != "answered"
        if e.get("person"):
            self.person_calls += 1
            self.person_seconds += float(e.get("duration_s") or 0)
        else:
            self.seconds += float(e.get("duration_s") or 0)
        if e.get("tokens_in") is None and e.get("tokens_out") is None:
            self.unknown_tokens += 1
        self.tokens_in += int(e.get("tokens_in") or 0)
        self.tokens_out += int(e.get("tokens_out") or 0)
        if e.get("cost_usd") is None:
            self.unknown_cost += 1
        else:
            self.cost_usd += float(e["cost_usd"])

    def saved_text(self) -> str:
        """What restores saved, in the same words as a cost (unknown stays unknown)."""
        if not self.restored:
            return "-"
        if self.saved_unknown == self.restored:
            return "unknown"
        return usd(self.saved_usd) + (f" + {self.saved_unknown} unknown" if self.saved_unknown else "")

    def cost_text(self) -> str:
        if self.calls and self.unknown_cost == self.calls:
            return "unknown"
        text = usd(self.cost_usd)
        return text + (f" + {self.unknown_cost} unknown" if self.unknown_cost else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "person_calls": self.person_calls,
            "person_seconds": round(self.person_seconds, 3),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "calls_without_tokens": self.unknown_tokens,
            "cost_usd": None if self.calls and self.unknown_cost == self.calls else _significant(self.cost_usd),
            "calls_without_cost": self.unknown_cost,
            "restored": self.restored,
            "saved_seconds": round(self.saved_seconds, 3),
            "saved_usd": None
            if self.restored and self.saved_unknown == self.restored
            else _significant(self.saved_usd),
        }


def totals(entries: list[dict[str, Any]], by: str) -> dict[str, Total]:
    """Group ledger entries by ``feature``, ``step``, ``agent`` or ``model``; key ``all`` sums everything."""
    out: dict[str, Total] = {}
    for e in entries:
        key = str(e.get(by) or "-") if by != "all" else "all"
        out.setdefault(key, Total()).add(e)
    return dict(sorted(out.items()))


def _significant(amount: float) -> float:
    """A sum of float costs without its float noise, but no small cost rounded away (12 significant digits)."""
    return float(f"{amount:.12g}")
