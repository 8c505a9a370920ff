"""A sequence the state machine's thorough profile found (2026-12-07): a person's wait taken as answered.

The first `settled_noop` leaves implement:b waiting for a person (the implementer's role moved to the manual
agent): "revise plans/b/deviations.md, scripts/smoke/b.sh". The second (`age`: every file's mtime set back
10 s, then `doit` twice) took that wait as answered although the test, the only person here, wrote nothing:
the person's answer was every file whose stat differed from the walk saved with the prompt. It is now the
files whose bytes differ (devloop.steps.person keeps each file's content beside its stat).
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


@pytest.mark.long
def test_a_wait_for_a_person_is_not_answered_by_a_change_of_mtimes_alone():
    m = LoopMachine()
    try:
        for name, kw in RULES:
            getattr(m, name)(**kw)
            m.a_person_is_asked_for_every_manual_answer()
    finally:
        shutil.rmtree(m.tmp, ignore_errors=True)
