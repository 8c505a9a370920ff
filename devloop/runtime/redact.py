"""Keep secrets out of the lock, the ledger, artifacts, logs and stdout.

Redaction is by value: a secret is the value of an environment variable whose
name says so (KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL, AUTH), a value the
config gives an agent under such a name, and the password of any credential
written into a URL (``scheme://user:password@host``: a ``DATABASE_URL``'s
password is a secret whatever the variable is called). Every occurrence is
replaced before anything is written or printed; URL credentials are masked
in any text, also when no variable holds them.

A secret is also masked in the forms it travels in: base64 (standard and
URL-safe, at any alignment inside a longer encoded text, as in an
``Authorization: Basic`` header), URL-encoded, and hex. Not caught: a value
split apart, reversed, or in another encoding (base32, compressed...).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from typing import TextIO


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(secret variable names, URL credentials): compiled on first use (milliseconds a no-op need not pay)."""
    names = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
    # Bounded repeats: a hostile text of many "x://:" without an "@" must not make matching quadratic.
    url = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]{0,30}://[^\s:/@]{0,256}:)(?P<password>[^\s/]{1,256})@")
    return names, url


MIN_LEN = 6  # shorter values would redact ordinary words
MASK = "[redacted]"

_registered: set[str] = set()


def register(env: Mapping[str, str]) -> None:
    """Remember the secrets of an environment devloop built (an agent's config ``env``) for later redaction."""
    _registered.update(_secrets_of(env.items()))


def _secrets_of(items: Iterable[tuple[str, str]], names: frozenset[str] = frozenset()) -> set[str]:
    secret_name, url_credential = _patterns()
    found = set()
    for name, value in items:
        if name in names or secret_name.search(name):
            found.add(value)
        found.update(m.group("password") for m in url_credential.finditer(value))
    return {v for v in found if len(v) >= MIN_LEN}


def secret_values(extra_names: Iterable[str] = ()) -> list[str]:
    """Every secret value known now, and its encoded forms, longest first (a secret holding another is masked whole)."""
    return list(_secret_values(frozenset(os.environ.items()), frozenset(extra_names), frozenset(_registered)))


@functools.lru_cache(maxsize=8)
def _secret_values(
    environ: frozenset[tuple[str, str]], names: frozenset[str], registered: frozenset[str]
) -> tuple[str, ...]:
    """Kept per environment: a run that writes a thousand ledger lines scans its environment once."""
    values = _secrets_of(environ, names) | registered
    return tuple(sorted({form for v in values for form in forms(v)}, key=len, reverse=True))


@functools.cache
def forms(value: str) -> frozenset[str]:
    """``value`` and the encodings it is found in: base64 at each alignment, URL-encoded, hex."""
    import base64
    from urllib.parse import quote, quote_plus

    raw = value.encode("utf-8")
    out = {value, quote(value, safe=""), quote_plus(value), raw.hex(), raw.hex().upper()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for k in range(3):  # where the value starts inside a longer encoded text, modulo 3 bytes
            text = encode(b"\0" * k + raw).decode("ascii")
            start, end = -(-k * 8 // 6), (k + len(raw)) * 8 // 6  # the characters its bytes alone decide
            out.add(text[start:end])
    return frozenset(f for f in out if len(f) >= MIN_LEN)


def redact(text: str, secrets: list[str] | None = None) -> str:
    if not text:
        return text
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    if "://" in text:
        text = _patterns()[1].sub(lambda m: f"{m.group('head')}{MASK}@", text)
    return text


class RedactingStream:
    """A text stream that redacts everything written through it (the reporter's stdout)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(redact(text))

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
