"""A small Server-Sent Events reader for tests: parses frames as a browser would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseMessage:
    id: str | None
    event: str
    data: str
    comments: tuple[str, ...] = ()

    @property
    def body(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value


def parse_block(block: str) -> SseMessage | None:
    event_id: str | None = None
    event = "message"
    data: list[str] = []
    comments: list[str] = []
    for line in block.split("\n"):
        if not line:
            continue
        if line.startswith(":"):
            comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            event_id = value
        elif name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if not data and event_id is None and not comments:
        return None
    return SseMessage(event_id, event, "\n".join(data), tuple(comments))


def parse_stream(text: str) -> list[SseMessage]:
    """Every message (and comment-only block) of a complete stream."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [m for m in (parse_block(b) for b in blocks) if m is not None]


def events_of(messages: list[SseMessage]) -> list[dict[str, Any]]:
    """The relayflow events among the messages (those with data)."""
    return [m.body for m in messages if m.data]


async def iter_messages(response: httpx.Response) -> AsyncIterator[SseMessage]:
    """Messages of a streaming response as they arrive."""
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk.replace("\r\n", "\n")
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            message = parse_block(block)
            if message is not None:
                yield message


async def finished_events(
    client: httpx.AsyncClient, headers: dict[str, str], execution_id: str, after: int = 0
) -> list[dict[str, Any]]:
    """The whole event stream of an execution that has finished (the stream ends)."""
    extra = {"Last-Event-ID": str(after)} if after else {}
    response = await client.get(
        f"/api/v1/executions/{execution_id}/events", headers={**headers, **extra}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return events_of(parse_stream(response.text))
