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
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from relayflow import errors
from relayflow.api.schemas.executions import ExecutionEventOut
from relayflow.store.queue.events import StoredEvent
from relayflow.stored_json import servable

KEEPALIVE_S = 15.0
RETRY_MS = 1000  # how long a browser's EventSource waits before reconnecting
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
}
_END = object()
MAX_EVENT_ID = 2**63 - 1  # event ids are BIGINT
_EVENT_ID = re.compile(r"[0-9]{1,19}")


def parse_last_event_id(header: str | None, query: int | None) -> int:
    """The id after which to resume: the `Last-Event-ID` header, else `?last_event_id=`.

    Checked before the stream starts (ids are BIGINTs: a larger number would fail
    the query after the 200 went out), so a bad value is a 422, never a broken stream.
    """
    if header is not None and header.strip():
        raw = header.strip()
        if not _EVENT_ID.fullmatch(raw) or int(raw) > MAX_EVENT_ID:
            raise errors.InvalidInput(
                "Last-Event-ID: must be the id of an event this stream sent "
                f"(a whole number from 0 to {MAX_EVENT_ID})",
                details=[
                    {
                        "field": "Last-Event-ID",
                        "message": f"not a whole number from 0 to {MAX_EVENT_ID}",
                    }
                ],
            )
        return int(raw)
    return query or 0


def format_event(event: StoredEvent) -> bytes:
    data = ExecutionEventOut(
        id=event.id,
        execution_id=event.execution_id,
        kind=event.kind,
        payload=servable(event.payload),
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
