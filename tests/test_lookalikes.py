"""The look-alike table written by scripts/gen-lookalikes is what Unicode's installed data gives, and is used."""

from __future__ import annotations

import string
import subprocess
import sys

from devloop.judging import rendered
from devloop.judging.lookalikes import ALIKES


def test_the_table_equals_the_installed_data_for_every_printable_ascii_character() -> None:
    graph = rendered.derived_graph()
    for ch in string.printable.strip() + " ":
        assert set(ALIKES.get(ch, "")) == graph.get(ch, set()), f"{ch!r}: run scripts/gen-lookalikes"
    assert set(ALIKES) <= set(string.printable)


def test_reading_a_verdict_does_not_load_unicode_s_whole_table() -> None:
    """The keyword patterns come from the table; the 900 KB of confusables data is not read (40-90 ms)."""
    probe = (
        "import sys\n"
        "from devloop.judging import rendered\n"
        "assert rendered.said('VOTE: N\\u0395EDS W\\u041eRK', 'needs work')\n"
        "assert not rendered.said('VOTE: PRODUCTION GRADE', 'needs work')\n"
        "print('confusable_homoglyphs' in sys.modules, rendered.derived_graph.cache_info().currsize)\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "0"]


def test_a_character_outside_the_table_still_gets_its_look_alikes_from_the_data() -> None:
    """A non-ASCII letter asked for directly (no keyword has one today) falls back to the data itself."""
    assert "a" in rendered._neighbours("\u0430")  # Cyrillic a
