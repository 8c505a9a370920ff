"""Which doit commands can reach a smoke task: the others are spared building a thousand of them."""

from __future__ import annotations

import pytest

from devloop.loop.tasks import wants_smoke


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], False),
        (["-n", "2"], False),
        (["evaluate:a"], False),
        (["plans/a/reviews.md"], False),
        (["smoke"], True),
        (["smoke:a"], True),
        (["-n", "2", "smoke"], True),
        (["list", "--all"], True),
        (["info", "plan:a"], True),
        (["forget"], True),
        (["clean", "--clean-all"], True),
        (["ignore", "smoke:a"], True),
        (["tabcompletion"], True),
        (["run", "plan:a"], False),
        (["run", "smoke"], True),
    ],
)
def test_a_run_builds_smoke_tasks_only_when_it_can_reach_one(argv: list[str], expected: bool) -> None:
    assert wants_smoke(argv) is expected
