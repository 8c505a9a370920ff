"""Keep secrets out of logs, the ledger and error messages.

A secret is the value of an environment variable whose name says so (KEY,
TOKEN, SECRET, PASSWORD, CREDENTIAL) or that the config names as holding a
key; every occurrence is replaced before anything is written or printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
MIN_LEN = 6  # shorter values would redact ordinary words
MASK = "[redacted]"


def secret_values(extra_names: Iterable[str] = ()) -> list[str]:
    names = set(extra_names)
    values = {v for k, v in os.environ.items() if (k in names or SECRET_NAME.search(k)) and len(v) >= MIN_LEN}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    if not text:
        return text
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    return text
