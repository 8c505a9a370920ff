"""What every check kind shares: the run context, the one Protocol, the error type, the registry.

A kind only observes (runs a query, reads logs, calls a URL, runs a command)
and returns the names its expression sees; judging is the runner's job, so a
kind never decides PASS or FAIL. Anything that stops a kind from observing
is a CheckError, which the runner records as ERROR.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from devloop.after_deploy.checks.expr import ExprError, render

MAX_TEXT_BYTES = 1_000_000  # http bodies and command output the expressions may read
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")
_METHOD_URL = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: ")  # the clients' prefix to every API error


class CheckError(Exception):
    """The check could not observe (auth, quota, network, bad SQL, not found, timeout)."""


@dataclass(frozen=True)
class CheckContext:
    """Where and when a smoke run happens; ``gcp`` is devloop.yaml's GcpConfig (or anything shaped like it)."""

    workspace: Path
    gcp: Any
    feature: str
    version: str | None = None
    deploy_time: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    window: float | None = None  # seconds before ``now`` the observed period starts, when a check has one
    env_allow: tuple[str, ...] = ()  # variables command checks receive (devloop.yaml steps.smoke.env_allow)
    http_methods: tuple[str, ...] = ()  # methods beyond GET/HEAD http checks may use (devloop.yaml checks)
    confine: Any = None  # makes the devloop.confine.watch.Box a command check runs in (None: unconfined)

    def window_bounds(self) -> tuple[datetime, datetime] | None:
        """[start, end) of the check's window; a smoke check without one looks back to deploy_time."""
        end = self.utc_now()
        if self.window is not None:
            return end - timedelta(seconds=self.window), end
        if self.deploy_time:
            try:
                start = datetime.fromisoformat(self.deploy_time.replace("Z", "+00:00"))
            except ValueError:
                raise CheckError(f"deploy_time {self.deploy_time!r} is not an ISO timestamp") from None
            return (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(UTC), end
        return None

    def utc_now(self) -> datetime:
        return (self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)).astimezone(UTC)

    def template_context(self) -> dict[str, Any]:
        """The names a value template may use; None values are left out so using them is an error."""
        now = self.utc_now()
        values: dict[str, Any] = {
            "today": now.date().isoformat(),
            "yesterday": (now.date() - timedelta(days=1)).isoformat(),
            "now": now.isoformat(),
            "deploy_time": self.deploy_time,
            "feature": self.feature,
            "version": self.version,
        }
        if self.window is not None:
            start, end = self.window_bounds() or (now, now)
            values.update(window_start=start.isoformat(), window_end=end.isoformat())
        return values

    def render(self, text: str) -> str:
        try:
            return render(text, self.template_context())
        except ExprError as exc:
            raise CheckError(str(exc)) from None


class CheckKind(Protocol):
    """One module per kind provides this function (pre-commit's ``languages/`` pattern)."""

    def observe(self, spec: Any, ctx: CheckContext) -> dict[str, Any]:
        """Run the probe and return the names the expression sees; raise CheckError when it cannot."""
        ...


MODULES = {kind: f"devloop.after_deploy.checks.{kind}" for kind in ("bigquery", "logging", "http", "command")}


def kind_module(kind: str) -> CheckKind:
    """The module implementing ``kind``, imported on first use (none of them imports google at import)."""
    return importlib.import_module(MODULES[kind])  # type: ignore[return-value]


def rfc3339(moment: datetime) -> str:
    """UTC with a Z, as Cloud Logging filters want it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def capped_text(data: bytes, limit: int = MAX_TEXT_BYTES) -> str:
    """Decode at most ``limit`` bytes, marking the cut so nobody mistakes it for the whole."""
    if len(data) <= limit:
        return data.decode("utf-8", errors="replace")
    return data[:limit].decode("utf-8", errors="replace") + f"\n[devloop: cut at {limit} bytes]"


def google_error(exc: BaseException, what: str) -> CheckError:
    """A readable CheckError for what the Google clients raise: auth, quota, not found, bad request, network."""
    cause = getattr(exc, "cause", None)
    if type(exc).__name__ == "RetryError" and isinstance(cause, BaseException):
        return CheckError(f"{google_error(cause, what)} ({getattr(exc, 'message', 'retries exhausted')})")
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if errno := _ERRNO.search(str(message)):  # requests buries "[Errno 111] Connection refused" in a long repr
        message = errno.group()
    category = {400: "bad request", 401: "auth", 403: "auth", 404: "not found", 429: "quota"}.get(code or 0)
    if code in (403, 429) and any(w in str(message).lower() for w in ("quota", "ratelimit", "rate limit")):
        category = "quota"  # BigQuery reports quota and rate limits as 403
    if category is None:
        name = type(exc).__name__
        if "Timeout" in name or isinstance(exc, TimeoutError):
            category = "timeout"
        elif "Connection" in name or isinstance(exc, ConnectionError):
            category = "network"
        elif "Credentials" in name or "Auth" in name or "RefreshError" in name:
            category = "auth"
        else:
            category = f"error {code}" if code else name
    first = " ".join(_METHOD_URL.sub("", str(message)).split())
    return CheckError(f"{what}: {category}: {first[:400]}")
