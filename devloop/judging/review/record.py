"""plans/<feature>/reviews.md: the audit record of the review cycles. No raw prompts."""

from __future__ import annotations

from typing import Any

VOTE_WORDS = {
    "PRODUCTION_GRADE": "PRODUCTION GRADE",
    "NEEDS_WORK": "NEEDS WORK",
    "DID_NOT_RUN": "DID NOT RUN",
    "UNPARSEABLE": "UNPARSEABLE",
}


def _claim_line(c: dict[str, Any], fix: list[str]) -> str:
    why = f": {c['reason']}" if c.get("reason") else ""
    if c["location"] != "ok" and not c.get("whole"):
        check = f"rejected mechanically: {c['location']}"
    elif c.get("verdict") == "REJECTED":
        check = f"verifier REJECTED{why}"
    elif c.get("verdict") == "CONFIRMED":
        check = f"verifier CONFIRMED{why}"
    else:
        check = "no verifier verdict (counts as confirmed)"
    if c.get("whole"):
        check = f"cited place wrong ({c['location']}), judged against the whole file; {check}"
    effect = "blocks" if c.get("blocks") else ("documented" if c["severity"] not in fix else "does not block")
    return (
        f"{c['n']}. [{c['severity']}] `{c['file']}:{c['line']}` — {c['text']} (by {c['reviewer']}; {check}; {effect})"
    )


def render(feature: str, seats: int, cycles: list[dict[str, Any]], fix: list[str], notes: list[str]) -> str:
    out = [f"# Code review record: {feature}", ""]
    out += [f"- {n}" for n in notes]
    if notes:
        out.append("")
    for c in cycles:
        out += [f"## Cycle {c['cycle']} (round {c['round']})", ""]
        if c.get("shown"):
            out += [f"What reviewers were shown: {c['shown']}", ""]
        out += ["| seat | agent (model) | vote | note |", "|---|---|---|---|"]
        for r in c["reviewers"]:
            model = f" ({r['model']})" if r.get("model") else ""
            note = "; ".join(r.get("notes") or []) or (r.get("detail") or "")
            out.append(f"| {r['slot']} | {r['agent']}{model} | {VOTE_WORDS.get(r['state'], r['state'])} | {note} |")
        out.append("")
        claims = c.get("claims") or []
        out.append("### Claims" if claims else "### Claims: none")
        out += [_claim_line(x, fix) for x in claims]
        if c.get("verifier"):
            out += ["", f"Verifier: {c['verifier']}"]
        deviation = [x for x in claims if "deviation" in x["text"].lower()]
        out += ["", "### Deviation check"]
        out += [f"- `{x['file']}:{x['line']}` — {x['text']}" for x in deviation] or [
            "- no reviewer reported an unjustified or silent deviation"
        ]
        gates = c.get("gates") or []
        if gates:
            out += ["", "### Local gates"]
            out += [f"- `{g['command']}`: {'passed' if g['passed'] else 'FAILED'} ({g['result']})" for g in gates]
        if c.get("fix") is not None:
            out += ["", "### Fix applied", ", ".join(f"`{p}`" for p in c["fix"]) or "no files changed"]
        out += ["", f"**Result:** {c['outcome']} — {c['reason']}", ""]
    last = cycles[-1] if cycles else {"ok": 0}
    out += [f"Final PRODUCTION GRADE count: {last.get('ok', 0)}/{seats}", ""]
    return "\n".join(out)
