"""Waking workers after many small commits, with few notifications.

A NOTIFY inside a transaction makes PostgreSQL serialise that transaction's
commit (disk flush included) with every other notifying one, which caps ingest
at about one commit per flush. The webhook intake therefore commits its rows
without a NOTIFY and pokes this object afterwards: at most one wake-up is in
flight per process, and every poke made meanwhile is covered by one follow-up.
The rows are durable before the poke; a lost wake-up only delays a run until
the workers' next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class CoalescedWakeups:
    def __init__(self, send: Callable[[], Awaitable[None]]) -> None:
        self._send = send
        self._dirty = False
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Say that pending executions were committed; returns at once."""
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                await self._send()
            except Exception:  # workers also poll: a missed wake-up only delays
                log.warning("could not wake workers", exc_info=True)

    async def stop(self) -> None:
        """Send what is owed, then stop."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
