"""Waiting for an execution's outcome through the event stream (`?wait=SECONDS`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from relayflow.domain import ExecutionStatus

STATUS_EVENT = "execution.status"


class _Event(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


class EventSource(Protocol):
    def subscribe(self, execution_id: uuid.UUID, *, after_id: int = 0) -> AsyncIterator[_Event]: ...


def _is_final(payload: Mapping[str, Any]) -> bool:
    try:
        return ExecutionStatus(str(payload.get("status"))).is_final
    except ValueError:
        return False


async def wait_for_final_status(
    bus: EventSource, execution_id: uuid.UUID, timeout_s: float
) -> Mapping[str, Any] | None:
    """The final `execution.status` payload (`{status, output?, error?}`), or None on timeout.

    Events already stored are replayed first, so an execution that finished before
    the call answers at once.
    """
    if timeout_s <= 0:
        return None
    events = bus.subscribe(execution_id)
    try:
        async with asyncio.timeout(timeout_s):
            async for event in events:
                if event.kind == STATUS_EVENT and _is_final(event.payload):
                    return event.payload
    except TimeoutError:
        return None
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:  # end the subscription now, not at garbage collection
            await close()
    return None
