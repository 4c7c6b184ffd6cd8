"""The reaper: expired leases back to the queue, one reaper at a time."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest
from sqlalchemy import update

from relayflow.config import Settings
from relayflow.domain import utcnow
from relayflow.runtime.events import EventBus
from relayflow.runtime.reaper import REAPER_LOCK_KEY, Reaper
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.queue import pending
from relayflow.store.queue.drivers import asyncpg_dsn
from tests.runtime.conftest import StartWorker, final_event, submit
from tests.support.rows import make_user, make_workflow


async def expired_execution(db: Database) -> models.Execution:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    execution_id = await submit(db, workflow, user)
    await db.queue.claim(owner="gone", limit=1, lease_seconds=30)
    async with db.transaction() as session:
        await session.execute(
            update(models.Execution).values(lease_expires_at=utcnow() - dt.timedelta(seconds=5))
        )
    async with db.session() as session:
        return await pending.get_execution(session, execution_id)


async def test_an_abandoned_execution_is_reaped_and_finished_by_a_live_worker(
    db: Database, bus: EventBus, runtime_settings: Settings, start_worker: StartWorker
) -> None:
    abandoned = await expired_execution(db)
    await start_worker()
    reaper = Reaper(runtime_settings, db, interval_s=0.1)
    await reaper.start()
    try:
        final = await final_event(bus, abandoned.id)
    finally:
        await reaper.stop()
    assert final.payload["status"] == "completed"
    async with db.session() as session:
        done = await pending.get_execution(session, abandoned.id)
    assert (done.lost_leases, done.lease_token) == (1, 2)


@pytest.mark.postgres_only
async def test_only_one_reaper_works_at_a_time(db: Database, runtime_settings: Settings) -> None:
    abandoned = await expired_execution(db)
    reaper = Reaper(runtime_settings, db)
    other = await asyncpg.connect(asyncpg_dsn(db.url))  # another reaper mid-pass
    try:
        async with other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock($1)", REAPER_LOCK_KEY)
            assert await reaper.reap_once() == []
        (reaped,) = await reaper.reap_once()
    finally:
        await other.close()
    assert reaped.id == abandoned.id


async def test_concurrent_reapers_return_an_execution_once(
    db: Database, runtime_settings: Settings
) -> None:
    abandoned = await expired_execution(db)
    reapers = [Reaper(runtime_settings, db) for _ in range(4)]
    results = await asyncio.gather(*(r.reap_once() for r in reapers))
    assert [item.id for found in results for item in found] == [abandoned.id]
