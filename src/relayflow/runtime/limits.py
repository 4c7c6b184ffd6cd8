"""A model-provider concurrency limit shared by every worker of the installation.

On PostgreSQL each in-flight model request holds a row of `provider_slots`
(slots 0..limit-1 per provider), so twenty workers together never exceed the
limit a provider key allows. A hold expires unless renewed, so a worker that
dies frees its slots. Waiters wake on NOTIFY `relayflow_slots` and poll as a
fallback. On SQLite (one machine) the per-process limiter is enough.

Which providers are limited, and how much, follows `agents.limits`:
`settings.provider_concurrency`, else `default_provider_concurrency`; offline
`test` models are not limited unless named.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

from relayflow.agents.limits import LocalProviderLimiter, ProviderLimiter
from relayflow.config import Settings
from relayflow.runtime.notifications import Notifications
from relayflow.store import provider_slots
from relayflow.store.db import Database
from relayflow.store.queue import signals

log = logging.getLogger(__name__)

HOLD_SECONDS = 60.0  # renewed every third of this while the request runs
RETRY_POLL_S = 1.0


class SharedProviderLimiter:
    """Implements `agents.limits.ProviderLimiter` across processes (PostgreSQL)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        notifications: Notifications | None = None,
        *,
        owner: str,
        hold_seconds: float = HOLD_SECONDS,
    ) -> None:
        self._db = db
        self._owner = owner
        self._hold_s = hold_seconds
        self._local = LocalProviderLimiter.from_settings(settings)
        self._notifications = notifications
        self._released: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._ensured: set[tuple[str, int]] = set()
        if notifications is not None:
            notifications.add(signals.SLOTS, self._on_released)

    def close(self) -> None:
        if self._notifications is not None:
            self._notifications.remove(signals.SLOTS, self._on_released)

    @contextlib.asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        limit = self._local.limit_for(provider)
        if limit is None:
            yield
            return
        name = provider.lower()
        # The local semaphore keeps this process from polling for more than it may use.
        async with self._local.slot(provider):
            holder = f"{self._owner}/{uuid.uuid4().hex[:12]}"
            number = await self._take(name, max(1, limit), holder)
            renew = asyncio.create_task(self._keep(name, number, holder))
            try:
                yield
            finally:
                renew.cancel()
                await asyncio.gather(renew, return_exceptions=True)
                await self._release(name, number, holder)

    async def _take(self, provider: str, limit: int, holder: str) -> int:
        if (provider, limit) not in self._ensured:
            async with self._db.transaction() as session:
                await provider_slots.ensure_slots(session, provider, limit)
            self._ensured.add((provider, limit))
        if self._notifications is not None:
            await self._notifications.listen(signals.SLOTS)
        while True:
            released = self._released[provider]
            released.clear()
            async with self._db.transaction() as session:
                number = await provider_slots.take_slot(
                    session, provider, limit=limit, holder=holder, hold_seconds=self._hold_s
                )
            if number is not None:
                return number
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), timeout=RETRY_POLL_S)

    async def _keep(self, provider: str, number: int, holder: str) -> None:
        while True:
            await asyncio.sleep(self._hold_s / 3)
            try:
                async with self._db.transaction() as session:
                    await provider_slots.extend_slot(
                        session, provider, number, holder=holder, hold_seconds=self._hold_s
                    )
            except Exception as exc:  # the request goes on; the hold may lapse
                log.warning("could not renew provider slot %s/%s: %s", provider, number, exc)

    async def _release(self, provider: str, number: int, holder: str) -> None:
        try:
            async with self._db.transaction() as session:
                await provider_slots.release_slot(session, provider, number, holder=holder)
        except Exception as exc:  # it expires on its own
            log.warning("could not release provider slot %s/%s: %s", provider, number, exc)

    def _on_released(self, payload: str) -> None:
        if not payload:
            for event in self._released.values():
                event.set()
            return
        waiting = self._released.get(payload.lower())
        if waiting is not None:
            waiting.set()


def provider_limiter(
    settings: Settings, db: Database, notifications: Notifications, *, owner: str
) -> ProviderLimiter:
    """The limiter a worker should use: shared on PostgreSQL, per process on SQLite."""
    if db.is_sqlite:
        return LocalProviderLimiter.from_settings(settings)
    return SharedProviderLimiter(settings, db, notifications, owner=owner)
