"""Live execution events across processes.

Events are rows of `execution_events`; their ids order them. Publishing appends a
row and wakes subscribers in every process (NOTIFY `relayflow_events` on
PostgreSQL through the process's one LISTEN connection; the in-process hub on
SQLite, where other processes are reached by polling). A subscriber replays the
stored events after the id it has seen, then follows new ones, so a client that
reconnects with the last id it received misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from typing import Any

from relayflow import errors
from relayflow.runtime.notifications import Notifications
from relayflow.runtime.outcomes import Outcomes
from relayflow.store.db import Database
from relayflow.store.queue import events as event_rows
from relayflow.store.queue import signals
from relayflow.store.queue.events import FINAL_STATUSES, StoredEvent

__all__ = ["EventBus", "StoredEvent"]

PAGE = 500
# Without a notification, subscribers look again this often (other processes on
# SQLite, or a NOTIFY lost while the listening connection was down).
POLL_POSTGRES_S = 2.0
POLL_SQLITE_S = 1.0


class EventBus:
    """One per process; built from a Database. Owns the process's listening connection."""

    def __init__(self, db: Database, *, poll_seconds: float | None = None) -> None:
        self.db = db
        self.notifications = Notifications(db)
        # Requests waiting for outcomes (`?wait`): woken in process, or by notification.
        self.outcomes = Outcomes(db, self.notifications)
        self._poll_s = poll_seconds or (POLL_SQLITE_S if db.is_sqlite else POLL_POSTGRES_S)
        self._waiters: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._closed = False
        self.notifications.add(signals.EVENTS, self._on_events)
        await self.notifications.start()
        await self.outcomes.start()

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._closed = True  # open subscriptions end
        self.notifications.remove(signals.EVENTS, self._on_events)
        await self.outcomes.stop()
        await self.notifications.stop()
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.set()

    async def publish(self, execution_id: uuid.UUID, kind: str, payload: Mapping[str, Any]) -> int:
        """Append an event to the execution and wake its subscribers; returns the event id."""
        async with self.db.transaction() as session:
            if not await event_rows.lock_for_events(session, execution_id):
                raise errors.NotFound(f"execution {execution_id} not found")
            (event_id,) = await event_rows.append_events(session, [(execution_id, kind, payload)])
        return event_id

    async def subscribe(
        self, execution_id: uuid.UUID, *, after_id: int = 0
    ) -> AsyncIterator[StoredEvent]:
        """Every stored event with id > after_id, then live ones, in id order, without gaps.

        Ends after the event that carries a final execution status (or at once if
        the execution is gone, or final without such an event).
        """
        await self.notifications.listen(signals.EVENTS)  # before the first read: no gap
        waiter = asyncio.Event()
        self._waiters[execution_id].add(waiter)
        try:
            last = after_id
            while True:
                waiter.clear()
                async with self.db.session() as session:
                    # Status first: a final status commits together with its event,
                    # so if the status is final the fetch below sees that event.
                    status = await event_rows.execution_status(session, execution_id)
                    batch = await event_rows.fetch_events(
                        session, execution_id, after_id=last, limit=PAGE
                    )
                for event in batch:
                    yield event
                    last = event.id
                    if event.is_final:
                        return
                if len(batch) == PAGE:
                    continue
                if not batch and (status is None or status in FINAL_STATUSES):
                    return
                if self._closed and not batch:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), timeout=self._poll_s)
        finally:
            waiters = self._waiters.get(execution_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[execution_id]

    def _on_events(self, payload: str) -> None:
        if not payload:  # the listener reconnected: look again everywhere
            targets = [w for ws in self._waiters.values() for w in ws]
        else:
            targets = []
            for part in payload.split(","):
                try:
                    targets.extend(self._waiters.get(uuid.UUID(part), ()))
                except ValueError:
                    continue
        for waiter in targets:
            waiter.set()
