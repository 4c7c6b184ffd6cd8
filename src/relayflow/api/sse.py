"""Server-Sent Events of an execution: framing, keep-alives, and resuming after a drop.

Each event goes out as

    id: <event id>
    event: <kind>
    data: {"id": ..., "execution_id": ..., "kind": ..., "payload": {...}, "created_at": ...}

The ids are those of `execution_events`, increasing per execution, so a client
that reconnects with `Last-Event-ID: <last id it got>` (or `?last_event_id=`)
receives exactly the events after it. A comment line is sent while nothing
happens, so proxies keep the connection open and a vanished client is noticed.
The stream ends after the event carrying the final execution status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from relayflow import errors
from relayflow.api.schemas.executions import ExecutionEventOut
from relayflow.store.events import StoredEvent

KEEPALIVE_S = 15.0
RETRY_MS = 1000  # how long a browser's EventSource waits before reconnecting
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
}
_END = object()


def parse_last_event_id(header: str | None, query: int | None) -> int:
    """The id after which to resume: the `Last-Event-ID` header, else `?last_event_id=`."""
    if header is not None and header.strip():
        try:
            value = int(header.strip())
        except ValueError:
            value = -1
        if value < 0:
            raise errors.InvalidInput(
                "Last-Event-ID: must be the id of an event this stream sent (a whole number)",
                details=[{"field": "Last-Event-ID", "message": "not a non-negative integer"}],
            )
        return value
    return query or 0


def format_event(event: StoredEvent) -> bytes:
    data = ExecutionEventOut(
        id=event.id,
        execution_id=event.execution_id,
        kind=event.kind,
        payload=event.payload,
        created_at=event.created_at,
    )
    # JSON escapes newlines, so the data is always one line.
    text = data.model_dump_json(fallback=str)
    return f"id: {event.id}\nevent: {event.kind}\ndata: {text}\n\n".encode()


async def _next(events: AsyncIterator[StoredEvent]) -> Any:
    try:
        return await anext(events)
    except StopAsyncIteration:
        return _END


async def sse_frames(
    events: AsyncIterator[StoredEvent], *, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[bytes]:
    """The SSE byte stream of `events`, with a keep-alive comment after each quiet spell."""
    yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(_next(events))
            done, _ = await asyncio.wait({pending}, timeout=keepalive_s)
            if not done:
                yield b": keep-alive\n\n"
                continue
            item, pending = pending.result(), None
            if item is _END:
                return
            yield format_event(item)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        close = getattr(events, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


def event_stream_response(
    events: AsyncIterator[StoredEvent], *, keepalive_s: float = KEEPALIVE_S
) -> StreamingResponse:
    return StreamingResponse(
        sse_frames(events, keepalive_s=keepalive_s),
        media_type="text/event-stream",
        headers=HEADERS,
    )
