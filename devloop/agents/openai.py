"""An agent that is any OpenAI-compatible chat-completions endpoint (LiteLLM proxy, vLLM, Ollama, llama.cpp).

One prompt becomes one ``POST {base_url}/chat/completions`` with ``stream: false``; ``timeout`` bounds each
attempt as a whole (connect, headers and body), however slowly the server sends. Transient failures
(HTTP 429 and 5xx, refused or reset connections) are retried a bounded number of times, waiting what the
server asks (see :mod:`devloop.agents.retry_after`) or with exponential backoff, within a total
``retry_budget``. A timed-out attempt is retried only when ``retry_timeouts`` allows it (judges once by
default, authors never): the server may still be working on, and billing, the first one. A failure that
only a change of devloop.yaml or of the environment can fix (no key, a refused key, an unknown model)
carries ``fix``, which names it. The agent can only return text, so author roles answer with fenced
``file=<path>`` blocks that devloop writes itself.

The API key is read from the environment variable the config names and never appears in a result.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devloop.agents.base import AgentRequest, AgentResult, CallStatus, RoleKind
from devloop.agents.retry_after import server_wait
from devloop.runtime.deadline import Deadline
from devloop.runtime.progress import note

if TYPE_CHECKING:
    from devloop.runtime.deadline import Deadline

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024  # enough of an error body to find its message
MAX_DELAY_S = 60.0  # cap on one backoff wait (a server's own ask is capped by the retry budget)
READ_CHUNK = 64 * 1024
SHORT = 200  # characters of a server message kept in a detail line
COST_HEADER = "x-litellm-response-cost"
RETRYABLE_STATUS = frozenset({408, 429})  # plus every 5xx
# error.type values that mean the key is wrong, whatever the status (LiteLLM's proxy without a database
# answers a key that is not its master key with 400 "No connected db.")
KEY_ERROR_TYPES = frozenset({"authentication_error", "invalid_api_key", "no_db_connection", "auth_error"})


@dataclass
class _Attempt:
    """What one HTTP attempt produced: a response (status, headers, body) or a transport failure."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    too_large: bool = False
    failure: str = ""  # transport problem, for humans
    retryable: bool = False
    unusable: bool = False  # a local problem (bad URL, TLS): no response and no point retrying
    timed_out: bool = False


class OpenAIAgent:
    """Calls one configured OpenAI-compatible endpoint per request; never raises from :meth:`run`."""

    returns_file_blocks = True  # author roles answer with ```file=path blocks that devloop writes

    def __init__(self, name: str, config: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.config = config
        self.model: str | None = config.model
        self.base_url: str = str(config.base_url).rstrip("/")
        self.api_key_env: str | None = getattr(config, "api_key_env", None) or None
        self.temperature: float | None = getattr(config, "temperature", None)
        timeout = getattr(config, "timeout", None)
        self.timeout = float(timeout) if timeout and timeout > 0 else 600.0
        self.max_retries = max(0, int(getattr(config, "max_retries", 3)))
        self.backoff = max(0.0, float(getattr(config, "backoff", 1.0)))
        self.retry_budget = max(0.0, float(getattr(config, "retry_budget", 90.0)))
        self.retry_timeouts: bool | None = getattr(config, "retry_timeouts", None)
        self.max_tokens: int | None = getattr(config, "max_tokens", None)
        self.system: str | None = getattr(config, "system", None)
        self._sleep = sleep

    # -- the call -------------------------------------------------------------
    def run(self, request: AgentRequest) -> AgentResult:
        """Make one call (with retries); every failure becomes a result, never an exception."""
        start = time.monotonic()
        key: str | None = None
        try:
            key = os.environ.get(self.api_key_env, "").strip() if self.api_key_env else None
            result = self._run(request, key)
        except Exception as exc:  # a bug or a surprise from the stack: report it, don't crash the loop
            result = AgentResult(CallStatus.ERROR, detail=f"internal error: {type(exc).__name__}: {exc}")
        if key:
            result.detail = result.detail.replace(key, "***")
            result.fix = result.fix.replace(key, "***")
        result.agent = self.name
        result.model = result.model or self.model
        result.duration_s = time.monotonic() - start
        return result

    def _run(self, request: AgentRequest, key: str | None) -> AgentResult:
        if self.api_key_env is not None:
            if not key:
                detail = f"environment variable {self.api_key_env} is not set"
                return AgentResult(CallStatus.UNAVAILABLE, detail=detail, fix=f"set {self.api_key_env}")
            if not key.isprintable() or any(c.isspace() for c in key) or not key.isascii():
                detail = (
                    f"environment variable {self.api_key_env} does not hold a usable key (spaces or control characters)"
                )
                return AgentResult(CallStatus.UNAVAILABLE, detail=detail, fix=f"set {self.api_key_env} to a usable key")
        url = f"{self.base_url}/chat/completions"
        if not url.lower().startswith(("http://", "https://")):
            return AgentResult(CallStatus.UNAVAILABLE, detail="base_url must start with http:// or https://")

        data = json.dumps(self._body(request)).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "devloop"}
        if key:
            headers["Authorization"] = f"Bearer {key}"

        retries, waited, timeouts = 0, 0.0, 0
        gave_up = ""
        while True:
            attempt = self._attempt(url, data, headers)
            if not _should_retry(attempt) or retries >= self.max_retries:
                break
            if attempt.timed_out:
                if timeouts >= self._timeout_retries(request):
                    gave_up = "; not retried, since the server may still be working on it (see retry_timeouts)"
                    break
                timeouts += 1
            delay, said = self._delay(retries, attempt.headers)
            if waited + delay > self.retry_budget:
                left = max(0.0, self.retry_budget - waited)
                asked = (
                    f"the server asks to wait {_secs(delay)} ({said})" if said else f"the next wait is {_secs(delay)}"
                )
                gave_up = f"; {asked}, more than the {_secs(left)} left of retry_budget ({_secs(self.retry_budget)})"
                break
            _notice(
                f"{_why(attempt)} by {self.model or self.name}, retrying in {_secs(delay)}"
                f" (retry {retries + 1} of {self.max_retries})"
            )
            self._sleep(delay)
            waited += delay
            retries += 1
        result = self._classify(attempt)
        if retries and not result.ok:
            result.detail += f" (after {retries} {'retry' if retries == 1 else 'retries'})"
        if gave_up and not result.ok:
            result.detail += gave_up
        return result

    def _timeout_retries(self, request: AgentRequest) -> int:
        """How many timed-out attempts may be tried again: ``retry_timeouts``, else judges once, authors never."""
        if self.retry_timeouts is None:
            return 1 if request.role_kind is RoleKind.JUDGE else 0
        return self.max_retries if self.retry_timeouts else 0

    def _body(self, request: AgentRequest) -> dict[str, Any]:
        messages = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": request.prompt})
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        body["stream"] = False
        return body

    def _delay(self, retry: int, headers: dict[str, str]) -> tuple[float, str]:
        """What the server asked for (and the header that said it), else exponential backoff capped at a minute."""
        asked = server_wait(headers, time.time())
        if asked is not None:
            return asked
        return min(self.backoff * 2 ** min(retry, 16), MAX_DELAY_S), ""

    # -- one HTTP attempt -------------------------------------------------------
    def _attempt(self, url: str, data: bytes, headers: dict[str, str]) -> _Attempt:
        """One request; connect, headers and body together end within ``timeout`` (see ``Deadline``)."""
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            """Never follow a redirect: it would drop the POST body or carry the key to another host."""

            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        req = urllib.request.Request(url, data=data, headers=headers, method="POST")
        with Deadline(self.timeout) as deadline:
            handlers: list[Any] = [NoRedirect(), *deadline.handlers()]
            if _is_loopback(url):  # a local proxy or server is never reached through an http(s)_proxy
                handlers.append(urllib.request.ProxyHandler({}))
            opener = urllib.request.build_opener(*handlers)
            got = self._exchange(opener, req, deadline)
        if deadline.expired:  # whatever a cut-off read seemed to give, the call ran out of time
            return _Attempt(failure=f"timed out after {self.timeout:g}s", retryable=True, timed_out=True)
        return got

    def _exchange(self, opener: Any, req: Any, deadline: Deadline) -> _Attempt:
        """Send and read one request; a transport failure is classified here, a response later."""
        import http.client
        import socket
        import ssl
        import urllib.error

        url = req.full_url
        try:
            with opener.open(req, timeout=self.timeout) as resp:
                got = _Attempt(status=resp.status, headers=_lower(resp.headers))
                length = _number(got.headers.get("content-length"))
                if length is not None and length > MAX_RESPONSE_BYTES:
                    got.too_large = True
                    return got
                got.body, got.too_large = _read(resp, MAX_RESPONSE_BYTES, deadline)
                return got
        except urllib.error.HTTPError as exc:  # a real response with a non-2xx status
            got = _Attempt(status=exc.code, headers=_lower(exc.headers))
            try:
                got.body, _ = _read(exc, MAX_ERROR_BYTES, deadline)
            except (OSError, http.client.HTTPException):
                pass  # the status alone classifies it
            finally:
                exc.close()
            return got
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(reason, TimeoutError) or deadline.expired:
                return _Attempt(failure=f"timed out after {self.timeout:g}s", retryable=True, timed_out=True)
            if isinstance(reason, ssl.SSLError):
                return _Attempt(failure=f"TLS error: {_short(str(reason))}", unusable=True)
            if isinstance(reason, socket.gaierror):
                # EAI_AGAIN is a temporary resolver failure; an unknown name stays unknown.
                transient = reason.errno == getattr(socket, "EAI_AGAIN", None)
                return _Attempt(failure=f"cannot resolve host: {_short(str(reason))}", retryable=transient)
            if isinstance(reason, ConnectionRefusedError):
                return _Attempt(failure=f"connection refused by {_host(url)}", retryable=True)
            if isinstance(reason, ConnectionError | http.client.HTTPException):
                return _Attempt(
                    failure=f"connection lost: {_short(str(reason)) or type(reason).__name__}", retryable=True
                )
            if isinstance(reason, OSError):
                return _Attempt(
                    failure=f"network error: {_short(str(reason)) or type(reason).__name__}", retryable=True
                )
            return _Attempt(failure=f"cannot reach {_host(url)}: {_short(str(reason))}", unusable=True)

    # -- classification ---------------------------------------------------------
    def _classify(self, got: _Attempt) -> AgentResult:
        if got.status is None:
            return AgentResult(CallStatus.UNAVAILABLE, detail=got.failure)
        status = got.status
        if got.too_large:
            return AgentResult(CallStatus.ERROR, detail="response larger than 10 MB", malformed=True)
        if 200 <= status < 300:
            return self._answer(got)
        message = _server_message(got.body)
        suffix = f": {message}" if message else ""
        if status in (401, 403):
            detail = f"not authorized (HTTP {status}){suffix}"
            return AgentResult(CallStatus.UNAVAILABLE, detail=detail, fix=self._key_fix(status))
        if status == 429:
            return AgentResult(CallStatus.UNAVAILABLE, detail=f"rate limited / quota (HTTP 429){suffix}")
        if status == 408:
            return AgentResult(CallStatus.UNAVAILABLE, detail=f"request timed out (HTTP 408){suffix}")
        if status >= 500:
            return AgentResult(CallStatus.UNAVAILABLE, detail=f"server error (HTTP {status}){suffix}")
        if 300 <= status < 400:
            where = got.headers.get("location", "")
            detail = f"unexpected redirect (HTTP {status}) to {_short(where)}; check base_url"
            fix = f"agents.{self.name}.base_url: {_host(self.base_url)} redirects to {_short(where) or 'elsewhere'}"
            return AgentResult(CallStatus.ERROR, detail=detail, fix=fix)
        if status == 404:
            detail = f"model or endpoint not found (HTTP 404){suffix}"
            return AgentResult(CallStatus.UNAVAILABLE, detail=detail, fix=self._rejected_fix(404, message))
        detail = f"request rejected (HTTP {status}){suffix}"
        if _error_type(got.body) in KEY_ERROR_TYPES:  # LiteLLM without a key database says 400 to a wrong key
            return AgentResult(CallStatus.UNAVAILABLE, detail=detail, fix=self._key_fix(status))
        return AgentResult(CallStatus.ERROR, detail=detail, fix=self._rejected_fix(status, message))

    def _key_fix(self, status: int) -> str:
        if self.api_key_env:
            return f"check the key in {self.api_key_env}: {_host(self.base_url)} refused it (HTTP {status})"
        return f"agents.{self.name}.api_key_env: {_host(self.base_url)} wants a key (HTTP {status})"

    def _rejected_fix(self, status: int, message: str) -> str:
        """What to change when the server refuses the request itself: asking again gets the same answer."""
        if _names_unknown_model(message, self.model):
            return f"agents.{self.name}.model: the server does not know {self.model!r}"
        if status == 404:
            return f"agents.{self.name}.base_url: {self.base_url}/chat/completions was not found (HTTP 404)"
        said = f": {message}" if message else ""
        return f"agents.{self.name}: the server rejects its requests (HTTP {status}{said})"

    def _answer(self, got: _Attempt) -> AgentResult:
        try:
            doc = json.loads(got.body)
        except (UnicodeDecodeError, ValueError):
            start = got.body[:60].decode("utf-8", "replace")
            return AgentResult(
                CallStatus.ERROR, detail=f"response is not JSON (starts with {_short(start)!r})", malformed=True
            )
        if not isinstance(doc, dict):
            return AgentResult(CallStatus.ERROR, detail="response is not a JSON object", malformed=True)
        model = doc.get("model") if isinstance(doc.get("model"), str) and doc.get("model") else None
        usage = _usage(doc, got.headers)
        choices = doc.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            if doc.get("error"):
                message = _server_message(got.body) or "unknown error"
                return AgentResult(CallStatus.ERROR, detail=f"server reported an error: {message}", model=model)
            return AgentResult(CallStatus.ERROR, detail="response has no choices", malformed=True, model=model)
        choice = choices[0]
        reason = choice.get("finish_reason")
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        text = _content(message.get("content"))
        reasoning = _reasoning(message)
        result = AgentResult(CallStatus.ANSWERED, text=text, model=model, usage=usage)
        if reason == "length":
            result.status, result.malformed = CallStatus.ERROR, True
            result.detail = "answer truncated (finish_reason=length)"
        elif reason == "content_filter":
            result.status, result.malformed = CallStatus.ERROR, True
            result.detail = "answer withheld by the server's content filter (finish_reason=content_filter)"
        elif not text.strip():
            result.status, result.malformed = CallStatus.ERROR, True
            why = f" (finish_reason={reason})" if isinstance(reason, str) and reason else ""
            result.detail = f"the answer was empty{why}"
        if not result.ok:
            result.text = ""
        elif reasoning:  # kept in the record, as a leading block the answer grammar sets aside
            result.text = f"<think>\n{reasoning}\n</think>\n\n{text}"
        return result


# -- helpers ----------------------------------------------------------------------
_UNKNOWN_MODEL = re.compile(
    r"(?i)(invalid|unknown|unsupported|no such|not a valid)\s+model|model\b.{0,80}?\b(does not exist|not found|"
    r"is not supported|unknown|not available|invalid)"
)


def _names_unknown_model(message: str, model: str | None) -> bool:
    """The server's words say the model is what it does not know (LiteLLM, OpenAI, vLLM, Ollama phrase it so)."""
    return bool(_UNKNOWN_MODEL.search(message)) or bool(
        model and model in message and re.search(r"(?i)not found|does not exist|invalid|unknown", message)
    )


def _secs(seconds: float) -> str:
    """A wait for people: ``42 s``, ``1.5 s``, ``0.02 s``."""
    if seconds >= 10:
        return f"{seconds:.0f} s"
    return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s".replace(".0 s", " s")


def _why(got: _Attempt) -> str:
    if got.status == 429:
        return "rate limited (HTTP 429)"
    if got.status == 408:
        return "request timed out (HTTP 408)"
    if got.status is not None:
        return f"server error (HTTP {got.status})"
    return got.failure


def _notice(text: str) -> None:
    note(text)


def _reasoning(message: dict[str, Any]) -> str:
    """A reasoning model's thoughts, when the server returns them apart (``reasoning_content``, ``reasoning``).

    A closing tag inside them is broken up, so that the block ends where devloop ends it.
    """
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value.strip():
            return re.sub(r"(?i)</(think|thinking)", r"</ \1", value.strip())
    return ""


def _should_retry(got: _Attempt) -> bool:
    if got.status is None:
        return got.retryable and not got.unusable
    return got.status in RETRYABLE_STATUS or got.status >= 500


def _read(resp: Any, cap: int, deadline: Deadline) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of the body; a read the deadline cut short is a timeout, never a whole body."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = resp.read(min(READ_CHUNK, cap + 1 - size))
        if deadline.expired:
            raise TimeoutError("response body not received in time")
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True


def _lower(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _number(value: object) -> float | None:
    """A finite number from a header or JSON value; anything else (dates, junk, booleans) is None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _tokens(value: object) -> int | None:
    number = _number(value)
    if number is None or number < 0 or number != int(number):
        return None
    return int(number)


def _usage(doc: dict[str, Any], headers: dict[str, str]) -> dict[str, int | float | None]:
    """Tokens and cost as the server reported them; unknown stays None, never 0."""
    usage = doc.get("usage") if isinstance(doc.get("usage"), dict) else {}
    cost = _number(headers.get(COST_HEADER))
    if cost is None:
        cost = _number(usage.get("cost"))
    if cost is None:
        cost = _number(usage.get("total_cost"))
    if cost is not None and cost < 0:
        cost = None
    return {
        "tokens_in": _tokens(usage.get("prompt_tokens")),
        "tokens_out": _tokens(usage.get("completion_tokens")),
        "cost_usd": cost,
    }


def _content(content: object) -> str:
    """The message text; some servers send a list of parts (``{"type": "text", "text": ...}``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type", "text") == "text"]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


def _error_type(body: bytes) -> str:
    """``error.type`` (or ``error.code``) of an OpenAI-style error body, lower-case; "" when there is none."""
    try:
        doc = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return ""
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict):
        return ""
    value = error.get("type") or error.get("code")
    return value.lower() if isinstance(value, str) else ""


def _server_message(body: bytes) -> str:
    """The server's own words: ``{"error": {"message": ...}}`` and its common variants, else the text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return _short(text)
    if isinstance(doc, dict):
        for key in ("error", "detail", "message"):
            value = doc.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail") or json.dumps(value)
            if isinstance(value, str) and value.strip():
                return _short(value)
    return _short(text)


def _short(text: str) -> str:
    """One line of at most ``SHORT`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= SHORT else line[: SHORT - 1] + "…"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else url


def _is_loopback(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
