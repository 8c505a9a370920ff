"""Judging agents' answers: the answer grammar, the boundary lint, the red-team merge, triage routes.

And ``review/``: the five-reviewer policy and the record of a review cycle.
Pure rules over text and records: may import runtime, provenance, config
and agents' request types; never the steps that ask, nor the loop.
"""
