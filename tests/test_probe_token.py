"""doctor --probe: only an answer that is exactly the token passes."""

from __future__ import annotations

import re

import pytest

from devloop.views.doctor import PROBE_PROMPT, probe_token, token_answered

TOKEN = "devloop-probe-3f9a1c"


@pytest.mark.parametrize(
    "answer",
    [
        TOKEN,
        f"{TOKEN}\n",
        f"  `{TOKEN}`  ",
        f'"{TOKEN}"',
        f"'{TOKEN}'\n",
        f"```\n{TOKEN}\n```",
        f"<think>\nThe user wants {TOKEN}. OK.\n</think>\n\n{TOKEN}\n",
        f"<think></think>{TOKEN}",
    ],
)
def test_the_token_alone_passes(answer: str) -> None:
    assert token_answered(answer, TOKEN)


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "OK",
        "Looks good.",
        f"{TOKEN}.",
        f"Sure: {TOKEN}",
        f"{TOKEN} OK",
        f"{TOKEN}\n{TOKEN}",
        "devloop-probe-000000",
        TOKEN.upper(),
        f"<think>\n{TOKEN}\n",  # an unclosed reasoning block: truncated, nothing after it
        f"<think>reasoning</think>\n{TOKEN}\n<think>more</think>",
        f"```text\n{TOKEN}\n```",
        f"**{TOKEN}**",
    ],
)
def test_anything_else_fails(answer: str) -> None:
    assert not token_answered(answer, TOKEN)


def test_every_probe_asks_for_a_new_token() -> None:
    tokens = {probe_token() for _ in range(50)}
    assert len(tokens) == 50 and all(re.fullmatch(r"devloop-probe-[0-9a-f]{6}", t) for t in tokens)
    prompt = PROBE_PROMPT.format(token=TOKEN)
    assert prompt.endswith(f"Reply with exactly this token and nothing else: {TOKEN}")
