"""Totals over the ledger: calls, time, tokens and cost, keeping unknown cost unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    keys: set[str] = field(default_factory=set)

    def add(self, e: dict[str, Any]) -> None:
        self.calls += 1
        self.failed += e.get("status") != "answered"
        self.seconds += float(e.get("duration_s") or 0)
        if e.get("tokens_in") is None and e.get("tokens_out") is None:
            self.unknown_tokens += 1
        self.tokens_in += int(e.get("tokens_in") or 0)
        self.tokens_out += int(e.get("tokens_out") or 0)
        if e.get("cost_usd") is None:
            self.unknown_cost += 1
        else:
            self.cost_usd += float(e["cost_usd"])

    def cost_text(self) -> str:
        if self.unknown_cost == self.calls:
            return "unknown"
        text = f"${self.cost_usd:.4f}"
        return text + (f" + {self.unknown_cost} unknown" if self.unknown_cost else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "calls_without_tokens": self.unknown_tokens,
            "cost_usd": None if self.unknown_cost == self.calls else round(self.cost_usd, 6),
            "calls_without_cost": self.unknown_cost,
        }


def totals(entries: list[dict[str, Any]], by: str) -> dict[str, Total]:
    """Group ledger entries by ``feature``, ``step``, ``agent`` or ``model``; key ``all`` sums everything."""
    out: dict[str, Total] = {}
    for e in entries:
        key = str(e.get(by) or "-") if by != "all" else "all"
        out.setdefault(key, Total()).add(e)
    return dict(sorted(out.items()))
