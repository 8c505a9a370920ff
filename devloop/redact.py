"""Keep secrets out of the lock, the ledger, artifacts, logs and stdout.

Redaction is by value: a secret is the value of an environment variable whose
name says so (KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL, AUTH), a value the
config gives an agent under such a name, and the password of any credential
written into a URL (``scheme://user:password@host``: a ``DATABASE_URL``'s
password is a secret whatever the variable is called). Every occurrence is
replaced before anything is written or printed; URL credentials are masked
in any text, also when no variable holds them.
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
    """Every secret value known now, longest first (so a secret containing another is masked whole)."""
    values = _secrets_of(os.environ.items(), frozenset(extra_names)) | _registered
    return sorted(values, key=len, reverse=True)


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
