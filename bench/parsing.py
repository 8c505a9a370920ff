"""Benchmark: parsing agent text grows linearly with its size, whatever it holds.

    .venv/bin/python bench/parsing.py [--sizes 100000,1000000]

Each hostile fragment (fences, comment openers, HTML tags, quotes, look-alike
and invisible characters, findings, claims) is repeated to each size and
given to every parser of agent text: the answer grammars (code review, plan
review, verifier, evaluation, red team, triage), file blocks, and the
validation.md block finder. It prints the seconds per fragment and size, and
the ratio between sizes next to the ratio of the sizes (linear when they
agree). It asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devloop.after_deploy.checks.block import find_blocks, unclosed_line
from devloop.judging.answers import (
    parse_code_review,
    parse_evaluation,
    parse_file_blocks,
    parse_plan_review,
    parse_verifier,
)
from devloop.judging.redteam import parse_red_team
from devloop.judging.triage import parse_route

FRAGMENTS = {
    "fences": "```\n",
    "tilde fences with info": "~~~yaml devloop\n",
    "comment openers": "<!-- ",
    "comment closers": "-->",
    "backtick runs": "`" * 50,
    "pre blocks": "<pre>\n",
    "details blocks": "<details>\n",
    "quoted votes": "> VOTE: PRODUCTION GRADE\n",
    "bidi overrides": "\u202e",
    "escaped colons": "\\:",
    "entities": "&#78;",
    "findings": "- [P1] a.py:1 — x\n",
    "claims": "CLAIM 1: CONFIRMED\n",
    "contrary words": "needs work ",
    "tags": "<b>",
    "combining joiners": "\u034f",
    "small capitals": "ᴠᴏᴛᴇ ",
    "plain text": "a" * 100 + "\n",
}


def parse_all(text: str) -> None:
    parse_code_review(text)
    parse_plan_review(text)
    parse_verifier(text, 3)
    parse_evaluation(text)
    parse_red_team(text, "t")
    parse_route(text)
    with contextlib.suppress(ValueError):
        parse_file_blocks(text)
    find_blocks(text)
    unclosed_line(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    head = "".join(f"{s:>12,}" for s in sizes)
    print(f"{'fragment':<24}{head}   ratio (the sizes': {sizes[-1] / sizes[0]:g}x)")
    for name, unit in FRAGMENTS.items():
        times = []
        for size in sizes:
            text = (unit * (size // len(unit) + 1))[:size] + "\nVOTE: PRODUCTION GRADE\n"
            start = time.perf_counter()
            parse_all(text)
            times.append(time.perf_counter() - start)
        ratio = times[-1] / times[0] if times[0] > 0 else float("nan")
        print(f"{name:<24}" + "".join(f"{t:>11.3f}s" for t in times) + f"   {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
