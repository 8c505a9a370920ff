"""LiteLLM's real proxy as a local peer for tests, in front of a scripted upstream (:class:`ChatServer`).

``scripts/litellm-proxy`` installs it into ``.venv/litellm`` (a venv of its own); without it the tests that
use the ``litellm_proxy`` fixture are skipped. Usage in a test module::

    from tests.litellm_proxy import LiteLLMProxy  # the `litellm_proxy` fixture comes from tests/integration/conftest.py

    def test_x(litellm_proxy: LiteLLMProxy) -> None:
        litellm_proxy.reset()
        litellm_proxy.upstream.enqueue(200, ChatServer.completion("hi"))  # what the "provider" answers
        ... OpenAIAgent(..., base_url=litellm_proxy.url, model="up-a", api_key_env=<env holding .key>) ...

The proxy starts once per session (about 10 s). Its models (see :data:`UPSTREAM_MODELS` and the constants
below): ``up-a`` … ``up-h`` forward to the upstream ChatServer (which can keep answers per model:
``enqueue(..., model="up-b")``); ``mock-ok`` and ``mock-think`` answer by themselves; ``limited`` allows one
request a minute, so the next gets LiteLLM's own 429. LiteLLM's own retries are off, so a caller's retry
logic is what runs, and nothing it starts reaches the network.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.chat_server import ChatServer

REPO = Path(__file__).resolve().parent.parent
LITELLM_VENV = REPO / ".venv" / "litellm"
LITELLM_BIN = LITELLM_VENV / "bin" / "litellm"
LLM_BIN = REPO / ".venv" / "bin" / "llm"

MASTER_KEY = "sk-devloop-litellm-master"
UPSTREAM_MODELS = tuple(f"up-{c}" for c in "abcdefgh")  # forwarded to the upstream ChatServer
MOCK_OK = "mock-ok"
MOCK_OK_TEXT = "VOTE: PRODUCTION GRADE\n"
MOCK_THINK = "mock-think"
MOCK_THINK_TEXT = "<think>\nThe diff is small and tested.\n</think>\n\nVOTE: PRODUCTION GRADE\n"
LIMITED = "limited"  # rpm: 1 — the second call within a minute gets LiteLLM's own 429
LIMITED_TEXT = "limited ok"
PRICED = "up-priced"  # forwarded to the upstream as `gpt-4o-mini`, which LiteLLM's bundled price list knows
PRICED_AS = "gpt-4o-mini"
START_TIMEOUT_S = 60.0

# Start-up must neither reach the network nor wait for it.
QUIET_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # the bundled price list, not a download
    "LITELLM_TELEMETRY": "False",
    "DISABLE_ADMIN_UI": "True",
    "NO_DOCS": "True",
    "NO_REDOC": "True",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
UNSET_ENV = (
    "DATABASE_URL",
    "REDIS_HOST",
    "REDIS_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "LITELLM_MASTER_KEY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)


def litellm_config(upstream_url: str, master_key: str = MASTER_KEY) -> str:
    """The proxy's config.yaml (JSON is YAML): the models above, no retries, no fallbacks, no database."""
    models: list[dict[str, Any]] = [
        {
            "model_name": name,
            "litellm_params": {"model": f"openai/{name}", "api_base": upstream_url, "api_key": "fake"},
        }
        for name in UPSTREAM_MODELS
    ]
    models.append(
        {
            "model_name": PRICED,
            "litellm_params": {"model": f"openai/{PRICED_AS}", "api_base": upstream_url, "api_key": "fake"},
        }
    )
    models += [
        {"model_name": MOCK_OK, "litellm_params": {"model": f"openai/{MOCK_OK}", "mock_response": MOCK_OK_TEXT}},
        {
            "model_name": MOCK_THINK,
            "litellm_params": {"model": f"openai/{MOCK_THINK}", "mock_response": MOCK_THINK_TEXT},
        },
        {
            "model_name": LIMITED,
            "litellm_params": {"model": f"openai/{LIMITED}", "mock_response": LIMITED_TEXT, "rpm": 1},
        },
    ]
    config = {
        "model_list": models,
        "litellm_settings": {
            "num_retries": 0,
            "request_timeout": 600,
            "telemetry": False,
            "drop_params": True,
        },
        "router_settings": {
            "num_retries": 0,
            "retry_after": 0,
            "allowed_fails": 1000,  # no cooldown of a deployment after failures
            "disable_cooldowns": True,
            "routing_strategy": "usage-based-routing-v2",  # enforces a deployment's rpm
            "enable_pre_call_checks": True,
        },
        "general_settings": {"master_key": master_key, "disable_spend_logs": True},
    }
    return json.dumps(config, indent=2) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiteLLMProxy:
    """One ``litellm`` proxy process on 127.0.0.1 in front of ``upstream``; see the module's docstring."""

    def __init__(self, workdir: Path, upstream: ChatServer, port: int | None = None) -> None:
        self.workdir = workdir
        self.upstream = upstream
        self.port = port or free_port()
        self.key = MASTER_KEY
        self.config = workdir / "litellm.yaml"
        self.log = workdir / "litellm.log"
        self.startup_s: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL (``…/v1``), as devloop's ``base_url`` takes it."""
        return f"{self.root}/v1"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
        env.update(QUIET_ENV)
        return env

    def start(self, timeout: float = START_TIMEOUT_S) -> LiteLLMProxy:
        """Write the config, start the proxy in its own process group, and wait until it is alive."""
        self.config.write_text(litellm_config(self.upstream.url, self.key))
        argv = [str(LITELLM_BIN), "--config", str(self.config), "--host", "127.0.0.1", "--port", str(self.port)]
        began = time.monotonic()
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                argv,
                cwd=self.workdir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() - began < timeout:
            if self._proc.poll() is not None:
                raise RuntimeError(f"litellm exited with {self._proc.returncode} before it was ready:\n{self.tail()}")
            try:
                with opener.open(f"{self.root}/health/liveliness", timeout=2) as resp:
                    if resp.status == 200:
                        self.startup_s = time.monotonic() - began
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"litellm was not alive after {timeout:g}s:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM to the proxy's process group, SIGKILL a few seconds later if it is still there."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            proc.wait(timeout=5)

    def reset(self) -> None:
        """Empty the upstream's scripted answers and recorded requests."""
        self.upstream.reset()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def chat(
        self,
        model: str,
        prompt: str = "Say hi.",
        *,
        key: str | None = None,
        timeout: float = 30.0,
        extra: dict[str, Any] | None = None,
    ) -> Reply:
        """One raw ``POST /v1/chat/completions`` (no devloop): status, every header (as sent), body."""
        body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": False, **(extra or {})}
        return raw_post(self.port, "/v1/chat/completions", body, key=self.key if key is None else key, timeout=timeout)


@dataclass
class Reply:
    """What the proxy sent back: status, every header in order (names as sent), the raw body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)

    def error_message(self) -> str | None:
        try:
            error = self.json().get("error")
        except (ValueError, AttributeError):
            return None
        return error.get("message") if isinstance(error, dict) else None


def raw_post(port: int, path: str, body: Any, *, key: str | None, timeout: float) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        resp = conn.getresponse()
        return Reply(resp.status, list(resp.getheaders()), resp.read())
    finally:
        conn.close()


def write_llm_config(user_dir: Path, base_url: str, key: str, models: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Point the ``llm`` CLI at an OpenAI-compatible proxy; returns the environment to run it with.

    llm reads ``extra-openai-models.yaml`` from ``LLM_USER_PATH``; each model gets ``model_id`` == the
    proxy's model name. The key goes into llm's ``keys.json`` under ``api_key_name``; without it llm falls
    back to ``OPENAI_API_KEY`` (``--key`` works too; an env var named after ``api_key_name`` does not).
    Run ``llm prompt -m <model> --no-stream --no-log "..."`` with the returned env.
    """
    user_dir.mkdir(parents=True, exist_ok=True)
    entries = [
        f"- model_id: {m}\n  model_name: {m}\n  api_base: {json.dumps(base_url)}\n  api_key_name: devloop-litellm\n"
        for m in models
    ]
    (user_dir / "extra-openai-models.yaml").write_text("".join(entries))
    (user_dir / "keys.json").write_text(json.dumps({"devloop-litellm": key}) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
    env.update({"LLM_USER_PATH": str(user_dir), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
    return env


@pytest.fixture(name="litellm_proxy", scope="session")
def litellm_proxy_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMProxy]:
    """The session's :class:`LiteLLMProxy`, started once; call ``.reset()`` at the top of each test."""
    if not LITELLM_BIN.exists():
        pytest.skip(f"LiteLLM proxy not installed ({LITELLM_BIN} missing; scripts/litellm-proxy installs it)")
    upstream = ChatServer().start()
    proxy = LiteLLMProxy(tmp_path_factory.mktemp("litellm"), upstream)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        upstream.stop()
