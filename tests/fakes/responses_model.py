#!/usr/bin/env python3
"""A stand-in for a model behind OpenAI's Responses API, on 127.0.0.1, for driving the real codex CLI offline.

    responses_model.py PORT LOG COMMAND

PORT 0 picks a free port, printed on the first line of stdout. The first
turn of a conversation asks for one shell call running COMMAND (through
whichever shell tool the client offers); once the client sends the tool's
output back, the answer is "OK". Every request is appended to LOG as JSON.
"""

from __future__ import annotations

import itertools
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG, COMMAND = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ids = itertools.count()


def event(data: dict) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def tool_call(tools: list[str]) -> dict:
    if "shell_command" in tools:
        name, args = "shell_command", {"command": COMMAND}
    elif "exec_command" in tools:
        name, args = "exec_command", {"cmd": COMMAND}
    else:
        name, args = "shell", {"command": ["bash", "-lc", COMMAND]}
    return {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": name, "arguments": json.dumps(args)}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = json.loads(body or b"{}")
        n = next(ids)
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"n": n, "path": self.path, "request": request}) + "\n")
        given = [i for i in request.get("input") or [] if str(i.get("type", "")).endswith("call_output")]
        tools = [t.get("name") or (t.get("function") or {}).get("name") for t in request.get("tools") or []]
        if given:
            item = {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
                    "content": [{"type": "output_text", "text": "OK", "annotations": []}]}  # fmt: skip
        else:
            item = {**tool_call(tools), "status": "completed"}
        usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
                 "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12}  # fmt: skip
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for data in (
            {"type": "response.created", "response": {"id": f"resp_{n}"}},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
            {"type": "response.completed", "response": {"id": f"resp_{n}", "usage": usage}},
        ):
            self.wfile.write(event(data))
            self.wfile.flush()


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
