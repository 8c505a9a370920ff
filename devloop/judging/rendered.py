"""An agent's answer as a person reads it: reasoning set aside, Markdown and HTML rendered, look-alikes folded.

A pass (``VOTE: PRODUCTION GRADE``, ``VERDICT: APPROVE``...) counts only when
no contrary verdict value can be read anywhere in the answer. "Read" is what
a person sees, not the bytes: an HTML entity or tag, a Markdown escape or
emphasis inside a word, an invisible, bidirectional or combining character,
a compatibility form or a letter of another script that looks like a Latin
one must not hide a ``NEEDS WORK``. So a value is searched in views of the
answer built by construction:

- entities decoded, NFKD (compatibility forms folded, accents split off),
  default-ignorable, format and combining marks dropped, Markdown
  backslash escapes removed;
- then every character that is neither a letter, a digit, a look-alike of
  one nor a space removed (punctuation, emphasis, tags' brackets), spaces
  collapsed, and each letter of the value matched by its class of
  confusables from Unicode's own data (``confusable_homoglyphs``, not a
  hand-made map); a word counts written whole or letter-spaced, as a word
  of its own (``revised`` is not ``revise``); the view is also read
  backwards, as a right-to-left override displays it.

Matching too much makes an answer UNPARSEABLE (it is asked again); matching
too little would count a contradicted pass. The first is the safe error.

A reasoning model's leading ``<think>``/``<thinking>`` block is the model's
scratch work, not its answer: it is kept in the record and set aside here.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache, lru_cache

_REASONING = re.compile(r"\A(\ufeff?\s*)<(think|thinking)\s*>", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--|-->")
_LINK_TARGET = re.compile(r"\]\([^()\s]*\)")
_EMPHASIS = re.compile(r"[*_~`]+")
# Default-ignorable code points that NFKC keeps and that are not format or mark characters.
_IGNORABLE = frozenset("\u115f\u1160\u3164\uffa0\u00ad\u034f\u17b4\u17b5")


def set_aside_reasoning(text: str) -> tuple[str, str | None]:
    """The answer with a leading reasoning block blanked (its line breaks kept, so line numbers hold).

    Returns ``(answer, problem)``; an unclosed block is a problem (a
    truncated answer): nothing after it could be told from the reasoning.
    """
    m = _REASONING.match(text)
    if not m:
        return text, None
    close = re.compile(rf"</{m.group(2)}\s*>", re.IGNORECASE).search(text, m.end())
    if close is None:
        return text, f"a <{m.group(2)}> reasoning block is not closed (truncated answer?)"
    return "\n" * text.count("\n", 0, close.end()) + text[close.end() :], None


def plain(text: str) -> str:
    """``text`` as its characters read: entities decoded, NFKD, invisible and combining marks gone, escapes off."""
    text = unicodedata.normalize("NFKD", html.unescape(text))  # accents split off as marks, then dropped
    text = "".join(ch for ch in text if not _invisible(ch))
    return _ESCAPE.sub(r"\1", text)


def _invisible(ch: str) -> bool:
    return ch in _IGNORABLE or unicodedata.category(ch) in ("Cf", "Mn", "Me")


def said(text: str, words: str) -> bool:
    """Whether ``words`` (ASCII letters, spaces between words) can be read anywhere in ``text``.

    Case, spacing, punctuation, emphasis, tags and look-alike letters do not
    matter; the text is also read backwards (a right-to-left override).
    """
    text = plain(text)
    present = _ASCII.union(ch for ch in set(text) if not ch.isascii())
    pattern = _pattern(words, present)
    other = _other(present)
    untagged = _TAG.sub("", text)
    markdown = _EMPHASIS.sub("", _LINK_TARGET.sub(" ", untagged))  # emphasis gone, a link shown as its text
    for shown, joined in ((text, True), (text, False), (untagged, True), (untagged, False), (markdown, False)):
        view = _words(shown, joined, other)  # punctuation joins (NE**EDS**) or parts ([needs](x)) the letters
        if pattern.search(view) is not None or pattern.search(view[::-1]) is not None:
            return True
    return False


def fold(text: str) -> str:
    """``plain(text)`` with each look-alike of an ASCII letter replaced by that letter (for keyword patterns)."""
    table = _folding()
    return "".join(table.get(ch, ch) for ch in plain(text))


def _words(text: str, joined: bool, other: re.Pattern[str]) -> str:
    """Letters, digits and their look-alikes, words apart by one space; other characters gone (or spaces).

    ``other`` is :func:`_other` for a set of characters holding every one of ``text``.
    """
    kept = other.sub("" if joined else " ", text)
    return _SPACES.sub(" ", kept).strip()


_SPACES = re.compile(r"\s+")

# The patterns below are built for the characters a text may hold (ASCII, and the others it
# holds), not for all of Unicode's look-alikes: a character class matches a character of the text
# exactly when the class cut down to those characters does, and every view searched is made of the
# text's characters and spaces. Compiling classes of hundreds of characters cost 5-15 ms per
# verdict word in every process that reads an answer; an ASCII answer's take under 1 ms, once. The
# caches are keyed by what is left of each class, so texts that differ only in characters no class
# holds (dashes, quotes, accents, emoji) share their patterns.
_ASCII = frozenset(chr(i) for i in range(128))


def _other(present: frozenset[str]) -> re.Pattern[str]:
    """Every character that is not a letter, a digit, a look-alike of one, or a space (among ``present``)."""
    return _other_among(present & _symbols())


@cache
def _symbols() -> frozenset[str]:
    """The look-alikes `\\w` does not match (`\\w` is `str.isalnum` or `_`): kept in the letters' view by name."""
    return frozenset(ch for ch in _lookalikes() if not (ch.isalnum() or ch == "_"))


@lru_cache(maxsize=256)
def _other_among(symbols: frozenset[str]) -> re.Pattern[str]:
    kept = "".join(re.escape(ch) for ch in sorted(symbols))
    return re.compile(rf"(?:_|[^\w\s{kept}])+")


def _pattern(words: str, present: frozenset[str]) -> re.Pattern[str]:
    """Each word whole or letter-spaced, words apart by a space or none, the whole a word of its own.

    Built for a text whose characters are all in ``present`` (ASCII among them).
    """
    letters = {letter: _alikes(letter) & present for letter in set(words.replace(" ", ""))}
    return _pattern_among(words, tuple(sorted((k, tuple(sorted(v))) for k, v in letters.items())))


@lru_cache(maxsize=256)
def _pattern_among(words: str, letters: tuple[tuple[str, tuple[str, ...]], ...]) -> re.Pattern[str]:
    alikes = dict(letters)
    parts = []
    for word in words.split():
        classes = ["[" + "".join(re.escape(ch) for ch in alikes[letter]) + "]" for letter in word]
        parts.append(f"(?:{''.join(classes)}|{' '.join(classes)})")
    return re.compile(r"(?<!\S)" + " ?".join(parts) + r"(?!\S)")


@cache
def _alikes(letter: str) -> frozenset[str]:
    """``letter`` in both cases and every single character Unicode lists as confusable with either."""
    out = {letter.lower(), letter.upper()}
    for form in (letter.lower(), letter.upper()):
        out |= _neighbours(form)
    return frozenset(out)


def _neighbours(ch: str) -> set[str]:
    """``ch``'s look-alikes: for printable ASCII from the table derived once (:mod:`.lookalikes`, checked
    against the installed data by tests/test_lookalikes.py), for any other character from the data itself."""
    if ch.isascii() and ch.isprintable():
        from devloop.judging.lookalikes import ALIKES

        return set(ALIKES.get(ch, ""))
    return derived_graph().get(ch, set())


# Latin letters Unicode does not list as confusable but a reader takes for the plain letter (small capitals).
_LATIN_NAME = re.compile(r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL |DOTLESS )?([A-Z])(?: WITH .*)?$")
_LATIN_BLOCKS = ((0x00C0, 0x02AF), (0x1D00, 0x1DBF), (0x1E00, 0x1EFF), (0xA720, 0xA7FF), (0xAB30, 0xAB6F))


@cache
def derived_graph() -> dict[str, set[str]]:
    """Unicode's confusables as an undirected graph of single characters (the data lists each pair once).

    Loading the data takes 40-90 ms: a keyword's letters are looked up in the
    table written from this graph (scripts/gen-lookalikes) instead.
    """
    out: dict[str, set[str]] = {}
    for ch, alikes in _confusables().items():
        for h in alikes:
            other = h["c"].strip("\u200e")
            if len(ch) == 1 and len(other) == 1:
                out.setdefault(ch, set()).add(other)
                out.setdefault(other, set()).add(ch)
    for low, high in _LATIN_BLOCKS:
        for code in range(low, high + 1):
            m = _LATIN_NAME.match(unicodedata.name(chr(code), ""))
            if m:
                out.setdefault(m.group(1), set()).add(chr(code))
    return out


@cache
def _lookalikes() -> frozenset[str]:
    """Every character that is a look-alike of an ASCII letter or digit (kept in the letters-only view)."""
    out: set[str] = set()
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
        out |= _alikes(ch)
    return frozenset(out)


@cache
def _folding() -> dict[str, str]:
    out: dict[str, str] = {}
    for ch in "abcdefghijklmnopqrstuvwxyz":
        for alike in _alikes(ch):
            if not alike.isascii():
                out.setdefault(alike, ch)
    return out


@cache
def _confusables() -> dict[str, list[dict[str, str]]]:
    from confusable_homoglyphs.utils import load

    return load("confusables.json")
