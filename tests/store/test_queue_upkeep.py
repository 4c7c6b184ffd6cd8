"""PostgreSQL: the workers vacuum the executions table when autovacuum has not, so the
dead entries a burst leaves in the queue's partial indexes do not slow every claim."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from relayflow.config import Settings
from relayflow.runtime.events import EventBus
from relayflow.runtime.metrics import RuntimeMetrics
from relayflow.runtime.service import runtime_services
from relayflow.runtime.upkeep import QueueUpkeep
from relayflow.store.db import Database
from relayflow.store.queue.drivers import asyncpg_dsn
from relayflow.store.queue.upkeep import UPKEEP_LOCK_KEY, vacuum_when_due
from tests.runtime.conftest import submit
from tests.support.rows import make_user, make_workflow

pytestmark = pytest.mark.postgres_only


async def table_stats(conn: asyncpg.Connection) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT n_dead_tup, last_vacuum FROM pg_stat_user_tables "
        "WHERE relid = to_regclass('executions')"
    )
    assert row is not None
    return row


async def leave_dead_rows(db: Database, conn: asyncpg.Connection, count: int) -> None:
    """`count` executions started, claimed and finished, as the queue moves them: each
    move leaves a dead row (made on `conn`, whose statistics it flushes at once)."""
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    for _ in range(count):
        await submit(db, workflow, user)
    await conn.execute("UPDATE executions SET status = 'processing' WHERE status = 'pending'")
    await conn.execute("UPDATE executions SET status = 'completed' WHERE status = 'processing'")
    await conn.execute("SELECT pg_stat_force_next_flush()")
    for _ in range(100):  # the statistics reach the shared counters when conn is idle
        if (await table_stats(conn))["n_dead_tup"] >= 2 * count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {(await table_stats(conn))['n_dead_tup']} dead rows counted")


async def test_a_table_with_enough_dead_rows_is_vacuumed_once_per_interval(db: Database) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        await leave_dead_rows(db, conn, 40)
        # Too few for the threshold: nothing runs.
        assert await vacuum_when_due(db, dead_rows=1000, interval_s=60) is None
        assert (await table_stats(conn))["last_vacuum"] is None
        # Another process is at it: this one leaves it.
        holder = await asyncpg.connect(asyncpg_dsn(db.url))
        try:
            assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", UPKEEP_LOCK_KEY)
            assert await vacuum_when_due(db, dead_rows=50, interval_s=60) is None
        finally:
            await holder.close()
        assert (await table_stats(conn))["last_vacuum"] is None

        done = await vacuum_when_due(db, dead_rows=50, interval_s=60)
        assert done is not None
        assert done.dead_rows >= 80
        stats = await table_stats(conn)
        assert stats["last_vacuum"] is not None
        assert stats["n_dead_tup"] == 0
        # Vacuumed within the interval: not again, whatever is left behind since.
        await leave_dead_rows(db, conn, 40)
        assert await vacuum_when_due(db, dead_rows=50, interval_s=60) is None
        # After it, again.
        assert await vacuum_when_due(db, dead_rows=50, interval_s=0) is not None
    finally:
        await conn.close()


async def test_a_worker_process_vacuums_soon_after_it_starts(
    db: Database, settings: Settings
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        await leave_dead_rows(db, conn, 30)
        configured = settings.model_copy(update={"queue_vacuum_dead_rows": 50})
        services = runtime_services(configured, db, EventBus(db), metrics=RuntimeMetrics())
        (upkeep,) = [s for s in services if isinstance(s, QueueUpkeep)]
        await upkeep.start()
        try:
            for _ in range(150):  # the first look comes 5 s after the start
                if (await table_stats(conn))["last_vacuum"] is not None:
                    break
                await asyncio.sleep(0.1)
        finally:
            await upkeep.stop()
        assert (await table_stats(conn))["last_vacuum"] is not None
    finally:
        await conn.close()
