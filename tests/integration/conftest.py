"""Fixtures shared by integration modules, defined once so that a session-scoped server starts once per worker."""

from tests.litellm_proxy import litellm_proxy_fixture  # noqa: F401  (the session's `litellm_proxy`: LiteLLM's proxy)
