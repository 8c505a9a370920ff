"""A fraction of a cent reported by a real HTTP server shows as such in `devloop cost` and the report."""

from __future__ import annotations

import json

from tests.chat_server import ChatServer, chat_server_fixture  # noqa: F401  (registers `chat_server`)
from tests.conftest import WS

PLAN = "```file=plans/a/plan.md\n# Plan\n```\n```file=plans/a/validation.md\n# Checks\n```\n"


def test_a_cost_below_a_cent_is_not_shown_as_free(ws: WS, chat_server: ChatServer) -> None:
    (ws.root / "devloop.yaml").write_text(
        "agents:\n"
        f"  proxy: {{kind: openai, base_url: '{chat_server.url}', model: cheap, max_retries: 0}}\n"
        "roles: {planner: proxy}\n"  # every other role stays the person `me`: only the plan is asked for
    )
    ws.add_feature("a", script=False)
    usage = {"prompt_tokens": 50, "completion_tokens": 10}
    chat_server.enqueue(200, ChatServer.completion(PLAN, usage=usage), {"x-litellm-response-cost": "0.00005"})
    r = ws.doit("plan:a")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(chat_server.requests) == 1

    cost = ws.devloop("cost", "--by", "agent")
    assert cost.returncode == 0, cost.stderr
    rows = {line.split()[0]: line.rstrip() for line in cost.stdout.splitlines()[1:]}
    assert rows["proxy"].endswith("$0.000050") and rows["TOTAL"].endswith("$0.000050"), cost.stdout
    assert "$0.0000" not in cost.stdout.replace("$0.000050", "")
    data = json.loads(ws.devloop("cost", "--json", "--by", "step").stdout)
    assert data["plan"]["cost_usd"] == 0.00005

    report = ws.devloop("report", "a")
    assert report.returncode == 0, report.stderr
    text = ws.read(report.stdout.strip())  # the report is written; its path is printed
    plan_row = next(line for line in text.splitlines() if line.startswith("| plan |"))
    assert "| $0.000050 |" in plan_row, plan_row
    assert "cost $0.000050." in text
