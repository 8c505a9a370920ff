"""Structured logs for Cloud Run: one JSON object per line on stdout."""

from __future__ import annotations

import json
import sys
from typing import Any


def log(severity: str, message: str, **fields: Any) -> None:
    record = {"severity": severity, "message": message, **fields}
    print(json.dumps(record), file=sys.stdout, flush=True)


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)
