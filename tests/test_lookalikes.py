"""The look-alike table written by scripts/gen-lookalikes is what Unicode's installed data gives, and is used."""

from __future__ import annotations

import re
import string
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def _said_with_every_look_alike(text: str, words: str) -> bool:
    """``rendered.said`` as it was built before its patterns were cut down to a text's characters."""
    text = rendered.plain(text)
    symbols = "".join(re.escape(ch) for ch in sorted(rendered._lookalikes()) if not re.match(r"\w", ch))
    other = re.compile(rf"(?:_|[^\w\s{symbols}])+")
    parts = []
    for word in words.split():
        classes = ["[" + "".join(re.escape(ch) for ch in sorted(rendered._alikes(c))) + "]" for c in word]
        parts.append(f"(?:{''.join(classes)}|{' '.join(classes)})")
    pattern = re.compile(r"(?<!\S)" + " ?".join(parts) + r"(?!\S)")
    untagged = rendered._TAG.sub("", text)
    markdown = rendered._EMPHASIS.sub("", rendered._LINK_TARGET.sub(" ", untagged))
    for shown, joined in ((text, True), (text, False), (untagged, True), (untagged, False), (markdown, False)):
        view = rendered._SPACES.sub(" ", other.sub("" if joined else " ", shown)).strip()
        if pattern.search(view) or pattern.search(view[::-1]):
            return True
    return False


_WORDS = ("needs work", "revise", "production grade", "reject", "approve")
# the verdict words' letters, their look-alikes (ASCII and not), marks, punctuation, tags and spaces
_ALPHABET = sorted(
    set("needsworkrevisproductigaplNEEDSWORK _*-.:<>/[]()|!01&;#\u200b\u0301\n\u2014\u201c\u00e9\u4e2d\U0001f600")
    | {ch for c in "needsworkrevisapl" for ch in sorted(rendered._alikes(c))[:12]}
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_ALPHABET), max_size=40).map("".join), st.sampled_from(_WORDS))
def test_a_pattern_cut_down_to_a_text_s_characters_reads_what_the_whole_classes_read(text: str, words: str) -> None:
    """Cutting each class down to the characters a text may hold changes no answer: property over random texts."""
    assert rendered.said(text, words) == _said_with_every_look_alike(text, words)
    whole = f"{text}\nVOTE: x\n{text[::-1]}"
    for line in whole.splitlines():
        assert rendered.said(line, words) == _said_with_every_look_alike(line, words)


def test_look_alike_words_are_read_in_texts_that_share_no_pattern() -> None:
    """Texts with different non-ASCII characters each get the classes they need (patterns are not shared wrongly)."""
    cyrillic, greek = "N\u0415EDS W\u041eRK", "N\u0395EDS W\u039fRK"
    assert rendered.said(cyrillic, "needs work") and rendered.said(greek, "needs work")
    assert rendered.said(f"fine\n{greek}", "needs work") is True
    assert not rendered.said("VOTE: PRODUCTION GRADE \u0415\u041e", "needs work")


def test_answers_that_differ_only_in_characters_no_class_holds_share_their_patterns() -> None:
    """Dashes, quotes, accents and emoji are in no look-alike class: they do not make a pattern of their own."""
    rendered._pattern_among.cache_clear()
    rendered.said("VOTE: fine", "needs work")
    assert rendered._pattern_among.cache_info().misses == 1
    for text in ("fine \u2014 \u201cok\u201d", "caf\u00e9 \U0001f600", "\u4e2d\u6587 needs work"):
        rendered.said(text, "needs work")
    assert rendered._pattern_among.cache_info().misses == 1
    assert rendered.said("\u4e2d\u6587 needs work", "needs work")
    assert rendered.said("N\u0415EDS work", "needs work")  # a Cyrillic look-alike: its own, bigger classes
    assert rendered._pattern_among.cache_info().misses == 2
