"""Waking workers after many small commits, with few notifications.

A NOTIFY inside a transaction makes PostgreSQL serialise that transaction's
commit (flush included) with every other notifying one, which caps ingest at
about one commit per disk flush. The webhook intake therefore commits its rows
without a NOTIFY and pokes this object afterwards: at most one NOTIFY is in
flight per process, sent in its own tiny transaction that does not wait for the
disk, and every poke made meanwhile is covered by one follow-up. The rows are
durable before the poke; a lost wake-up only delays a run until the workers'
next poll. On SQLite the in-process signal is fired at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from relayflow.store import signals
from relayflow.store.db import Database

log = logging.getLogger(__name__)


class CoalescedWakeups:
    def __init__(self, db: Database, channel: str = signals.WORK) -> None:
        self.db = db
        self.channel = channel
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        quoted = channel.replace("'", "''")
        self._notify_sql = (
            f"BEGIN; SET LOCAL synchronous_commit TO OFF; SELECT pg_notify('{quoted}', ''); COMMIT"
        )

    def poke(self) -> None:
        """Say that pending executions were committed; returns at once."""
        if self.db.is_sqlite:
            url = self.db.engine.url.render_as_string(hide_password=False)
            signals.local_hub.fire(signals.database_key(url), self.channel, "")
            return
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                async with self.db.engine.connect() as conn:
                    driver = (await conn.get_raw_connection()).driver_connection
                    assert driver is not None
                    # One round trip: a transaction that notifies without a disk flush.
                    await driver.execute(self._notify_sql)
            except Exception:  # workers also poll: a missed wake-up only delays
                log.warning("could not wake workers", exc_info=True)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        """Send what is owed, then stop."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
