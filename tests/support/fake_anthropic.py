"""A real Anthropic Messages API server on 127.0.0.1, scripted per test.

It serves `POST /v1/messages` (plain JSON, or the SSE event stream when the request
says `stream: true`), answering from a queue of scripted replies: text, tool use,
HTTP errors in Anthropic's error shape (with headers such as retry-after) and
delays. It checks the API key and the `anthropic-version` header and records every
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

API_KEY = "sk-ant-fake-test-key"  # not a real key; the server checks it is sent

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class ScriptedMessage:
    text: str | None = None
    tool_uses: Sequence[tuple[str, Mapping[str, Any]]] = ()
    input_tokens: int = 13
    output_tokens: int = 5
    status: int = 200
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class FakeAnthropic:
    def __init__(self) -> None:
        self.server = LocalHttpServer(self._handle)
        self.script: deque[ScriptedMessage] = deque()
        self.requests: list[ReceivedRequest] = []

    async def start(self) -> FakeAnthropic:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    @property
    def base_url(self) -> str:
        """The SDK's base URL: it appends /v1/messages itself."""
        return self.server.url("/").rstrip("/")

    # ------------------------------------------------------------ scripting
    def reply_text(self, text: str, *, input_tokens: int = 13, output_tokens: int = 5) -> None:
        self.script.append(
            ScriptedMessage(text=text, input_tokens=input_tokens, output_tokens=output_tokens)
        )

    def reply_tool_use(self, *uses: tuple[str, Mapping[str, Any]], text: str | None = None) -> None:
        self.script.append(ScriptedMessage(text=text, tool_uses=uses))

    def reply_error(
        self,
        status: int,
        message: str = "fake failure",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.script.append(ScriptedMessage(status=status, error=message, headers=headers or {}))

    # ------------------------------------------------------------ what was sent
    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the message requests, in order."""
        return [r.json() for r in self.requests]

    # ------------------------------------------------------------ serving
    async def _handle(self, request: ReceivedRequest) -> Reply:
        if request.method == "GET" and request.path == "/v1/models":
            if sent_key(request.headers) != API_KEY:
                return error_reply(401, "invalid x-api-key")
            return Reply.json({"data": [{"id": "claude-3-5-haiku-latest", "type": "model"}]})
        if request.method != "POST" or request.path != "/v1/messages":
            return error_reply(404, f"no route {request.path}")
        self.requests.append(request)
        if sent_key(request.headers) != API_KEY:
            return error_reply(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return error_reply(400, "anthropic-version header is required")
        if not self.script:
            return error_reply(500, "fake server: no scripted reply left")
        scripted = self.script.popleft()
        if scripted.delay_s:
            await asyncio.sleep(scripted.delay_s)
        if scripted.error is not None:
            return error_reply(scripted.status, scripted.error, scripted.headers)
        body = request.json()
        if body.get("stream"):
            return Reply(200, {"content-type": "text/event-stream"}, _sse(scripted, body["model"]))
        return Reply.json(_message(scripted, body["model"]))


def sent_key(headers: Mapping[str, str]) -> str | None:
    """The API key a request carries: `x-api-key`, or `authorization: Bearer` (the SDK's
    newer releases send the key that way)."""
    if "x-api-key" in headers:
        return headers["x-api-key"]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else None


def error_reply(status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    kind = ERROR_TYPES.get(status, "api_error")
    return Reply.json(
        {"type": "error", "error": {"type": kind, "message": message}},
        status=status,
        headers=headers,
    )


def _content(scripted: ScriptedMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if scripted.text:
        blocks.append({"type": "text", "text": scripted.text})
    for index, (name, arguments) in enumerate(scripted.tool_uses):
        blocks.append(
            {"type": "tool_use", "id": f"toolu_{index:02d}", "name": name, "input": arguments}
        )
    return blocks


def _stop_reason(scripted: ScriptedMessage) -> str:
    return "tool_use" if scripted.tool_uses else "end_turn"


def _message(scripted: ScriptedMessage, model: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _content(scripted),
        "stop_reason": _stop_reason(scripted),
        "stop_sequence": None,
        "usage": {"input_tokens": scripted.input_tokens, "output_tokens": scripted.output_tokens},
    }


async def _sse(scripted: ScriptedMessage, model: str) -> AsyncIterator[bytes]:
    def event(kind: str, data: dict[str, Any]) -> bytes:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

    start = _message(scripted, model) | {"content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": scripted.input_tokens, "output_tokens": 1}
    yield event("message_start", {"message": start})
    for index, block in enumerate(_content(scripted)):
        if block["type"] == "text":
            yield event(
                "content_block_start",
                {"index": index, "content_block": {"type": "text", "text": ""}},
            )
            for piece in re.findall(r"\S+\s*", block["text"]):
                delta = {"type": "text_delta", "text": piece}
                yield event("content_block_delta", {"index": index, "delta": delta})
                await asyncio.sleep(0)
        else:
            opened = block | {"input": {}}
            yield event("content_block_start", {"index": index, "content_block": opened})
            partial = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            yield event("content_block_delta", {"index": index, "delta": partial})
        yield event("content_block_stop", {"index": index})
    yield event(
        "message_delta",
        {
            "delta": {"stop_reason": _stop_reason(scripted), "stop_sequence": None},
            "usage": {"output_tokens": scripted.output_tokens},
        },
    )
    yield event("message_stop", {})
