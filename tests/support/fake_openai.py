"""A real OpenAI-compatible HTTP server on 127.0.0.1, scripted per test.

It serves `POST /v1/chat/completions` (plain JSON, or SSE when the request says
`stream: true`), answering from a queue of scripted replies: text, tool calls,
HTTP errors (with headers such as Retry-After) and delays. It records every
request so tests assert what went over the wire.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply

API_KEY = "sk-fake-test-key"  # not a real key; the server checks it is sent
CREATED = 1_700_000_000


@dataclass
class Scripted:
    text: str | None = None
    tool_calls: Sequence[tuple[str, Mapping[str, Any]]] = ()
    input_tokens: int = 11
    output_tokens: int = 7
    status: int = 200
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class FakeOpenAI:
    # The key a request must carry; None accepts any (a keyless local server, Ollama).
    api_key: str | None = API_KEY

    def __init__(self) -> None:
        self.server = LocalHttpServer(self._handle)
        self.script: deque[Scripted] = deque()
        self.requests: list[ReceivedRequest] = []

    async def start(self) -> FakeOpenAI:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    @property
    def base_url(self) -> str:
        return self.server.url("/v1")

    # ------------------------------------------------------------ scripting
    def reply_text(
        self, text: str, *, input_tokens: int = 11, output_tokens: int = 7, delay_s: float = 0.0
    ) -> None:
        self.script.append(
            Scripted(
                text=text, input_tokens=input_tokens, output_tokens=output_tokens, delay_s=delay_s
            )
        )

    def reply_tool_calls(
        self, *calls: tuple[str, Mapping[str, Any]], input_tokens: int = 11, output_tokens: int = 7
    ) -> None:
        self.script.append(
            Scripted(tool_calls=calls, input_tokens=input_tokens, output_tokens=output_tokens)
        )

    def reply_error(
        self,
        status: int,
        message: str = "fake failure",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.script.append(Scripted(status=status, error=message, headers=headers or {}))

    # ------------------------------------------------------------ what was sent
    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat completion requests, in order."""
        return [r.json() for r in self.requests]

    # ------------------------------------------------------------ serving
    async def _handle(self, request: ReceivedRequest) -> Reply:
        if request.method == "GET" and request.path == "/v1/models":
            return self._models(request)
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return Reply.json({"error": {"message": f"no route {request.path}"}}, status=404)
        self.requests.append(request)
        refused = self.refuse(request)
        if refused is not None:
            return refused
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.json(
                {
                    "error": {
                        "message": "bad key",
                        "type": "invalid_api_key",
                        "code": "invalid_api_key",
                    }
                },
                status=401,
            )
        if not self.script:
            return Reply.json(
                {"error": {"message": "fake server: no scripted reply left"}}, status=418
            )
        scripted = self.script.popleft()
        if scripted.delay_s:
            await asyncio.sleep(scripted.delay_s)
        if scripted.error is not None:
            return Reply.json(
                {"error": {"message": scripted.error, "type": "fake_error", "code": None}},
                status=scripted.status,
                headers=scripted.headers,
            )
        body = request.json()
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return Reply(
                200,
                {"content-type": "text/event-stream"},
                _sse(scripted, body["model"], include_usage),
            )
        return Reply.json(_completion(scripted, body["model"]))

    def refuse(self, request: ReceivedRequest) -> Reply | None:
        """An answer that refuses the request before the script is read, or None."""
        return None

    def _models(self, request: ReceivedRequest) -> Reply:
        """The models listing (`GET /v1/models`), behind the same key check."""
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.json({"error": {"message": "bad key", "code": "invalid_api_key"}}, 401)
        return Reply.json({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})


def _usage(scripted: Scripted) -> dict[str, int]:
    return {
        "prompt_tokens": scripted.input_tokens,
        "completion_tokens": scripted.output_tokens,
        "total_tokens": scripted.input_tokens + scripted.output_tokens,
    }


def _tool_call_dicts(scripted: Scripted) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for i, (name, args) in enumerate(scripted.tool_calls)
    ]


def _completion(scripted: Scripted, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": scripted.text}
    if scripted.tool_calls:
        message["tool_calls"] = _tool_call_dicts(scripted)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if scripted.tool_calls else "stop",
            }
        ],
        "usage": _usage(scripted),
    }


async def _sse(scripted: Scripted, model: str, include_usage: bool) -> AsyncIterator[bytes]:
    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    yield event(
        [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    )
    for piece in re.findall(r"\S+\s*", scripted.text or ""):
        yield event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        await asyncio.sleep(0)
    for index, call in enumerate(_tool_call_dicts(scripted)):
        yield event(
            [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": index, **call}]},
                    "finish_reason": None,
                }
            ]
        )
    finish = "tool_calls" if scripted.tool_calls else "stop"
    yield event([{"index": 0, "delta": {}, "finish_reason": finish}])
    if include_usage:
        yield event([], usage=_usage(scripted))
    yield b"data: [DONE]\n\n"
