"""The provider limit shared by every worker of an installation."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from relayflow.agents.limits import LocalProviderLimiter
from relayflow.config import Settings
from relayflow.domain import utcnow
from relayflow.runtime.events import EventBus
from relayflow.runtime.limits import SharedProviderLimiter, provider_limiter
from relayflow.store import models, provider_slots
from relayflow.store.db import Database


async def test_sqlite_installations_limit_per_process(settings: Settings, db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    bus = EventBus(db)
    assert isinstance(
        provider_limiter(settings, db, bus.notifications, owner="w"), LocalProviderLimiter
    )


@pytest.mark.postgres_only
async def test_two_workers_together_stay_within_the_providers_limit(
    settings: Settings, db: Database, bus: EventBus
) -> None:
    limited = settings.model_copy(update={"provider_concurrency": {"openai": 2}})
    workers = [
        SharedProviderLimiter(limited, db, bus.notifications, owner=f"w{i}") for i in range(2)
    ]
    in_flight = 0
    peak = 0
    served = 0

    async def request(limiter: SharedProviderLimiter) -> None:
        nonlocal in_flight, peak, served
        async with limiter.slot("openai"):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.05)
            in_flight -= 1
            served += 1

    async with asyncio.timeout(20):
        await asyncio.gather(*(request(workers[i % 2]) for i in range(10)))
    assert (peak, served) == (2, 10)
    async with db.session() as session:
        assert await provider_slots.held_slots(session, "openai") == 0
    for limiter in workers:
        limiter.close()


@pytest.mark.postgres_only
async def test_a_slot_held_by_a_dead_worker_is_freed_when_its_hold_expires(
    settings: Settings, db: Database, bus: EventBus
) -> None:
    limited = settings.model_copy(update={"provider_concurrency": {"openai": 1}})
    async with db.transaction() as session:
        await provider_slots.ensure_slots(session, "openai", 1)
        taken = await provider_slots.take_slot(
            session, "openai", limit=1, holder="dead/1", hold_seconds=30
        )
    assert taken == 0
    limiter = SharedProviderLimiter(limited, db, bus.notifications, owner="alive")
    waiter = asyncio.create_task(limiter.slot("openai").__aenter__())
    await asyncio.sleep(0.3)
    assert not waiter.done()  # the dead worker's hold is still valid
    async with db.transaction() as session:
        await session.execute(
            update(models.ProviderSlot).values(expires_at=utcnow().replace(year=2000))
        )
    async with asyncio.timeout(5):
        await waiter
    limiter.close()


async def test_offline_models_are_not_limited(
    settings: Settings, db: Database, bus: EventBus
) -> None:
    limiter = SharedProviderLimiter(settings, db, bus.notifications, owner="w")
    async with asyncio.timeout(5):
        async with limiter.slot("test"), limiter.slot("test"):
            pass
    async with db.session() as session:
        assert await provider_slots.held_slots(session, "test") == 0
    limiter.close()
