"""A known failure the state machine's thorough profile found (2026-12-07), kept as a strict xfail until fixed.

The first `settled_noop` leaves implement:b waiting for a person (the implementer's role moved to the manual
agent): "revise plans/b/deviations.md, scripts/smoke/b.sh". The second (`age`: every file's mtime set back
10 s, then `doit` twice) takes that wait as answered although the test, the only person here, wrote nothing:
the ledger gets an `answered` line for `me` that no person gave. Why is not found yet. It fails the same way
on commit 1637439, before the answer cache, and with DEVLOOP_NO_CACHE=1. When it passes, drop the xfail.
"""

from __future__ import annotations

import shutil

import pytest

from tests.integration.test_state_machine import LoopMachine

RULES = [
    ("interrupt", {"parallel": True}),
    ("approve", {}),
    ("redo", {"feature": "b", "step": "code_review"}),
    ("run_doit", {"parallel": False}),
    ("edit_keeping_size_and_mtime", {"feature": "a", "rel": "plan.md"}),
    ("run_doit", {"parallel": True}),
    ("smoke", {"feature": "b"}),
    ("run_doit", {"parallel": False}),
    ("age", {}),
    ("age", {}),
    ("ship", {"feature": "a", "fire": False}),
    ("ship", {"feature": "a", "fire": True}),
    ("toggle_flag", {"feature": "a", "flag": "smoke-fail"}),
    ("ship", {"feature": "a", "fire": True}),
    ("change_role", {"pick": 2, "role": "implementer"}),
    ("run_doit", {"parallel": True}),
    ("change_role", {"pick": 0, "role": "planner"}),
    ("ship", {"feature": "a", "fire": True}),
    ("edit_keeping_size_and_mtime", {"feature": "b", "rel": "validation.md"}),
    ("settled_noop", {"parallel": False}),
    ("settled_noop", {"parallel": False}),
]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="a person's wait taken as answered (see the docstring)")
def test_a_wait_for_a_person_is_not_answered_by_a_change_of_mtimes_alone():
    m = LoopMachine()
    try:
        for name, kw in RULES:
            getattr(m, name)(**kw)
            m.a_person_is_asked_for_every_manual_answer()
    finally:
        shutil.rmtree(m.tmp, ignore_errors=True)
