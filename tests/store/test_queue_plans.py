"""PostgreSQL: the queue's hot statements find their rows through indexes whatever the
planner believes of the tables' sizes.

asyncpg prepares each statement, and PostgreSQL may then keep one generic plan for
it, made while the tables were small, until they are next analyzed. The run batch's
plan scanned `executions` whole for the batch's few rows, a cost that grew with every
run (1.6 ms per batch on a new database within seconds of load); the statements are
written so that no plan can.
"""

from __future__ import annotations

import pytest

from relayflow.store.db import Database
from relayflow.store.queue.drivers import NumberedStatement
from relayflow.store.queue.statements import (
    PG_CLAIM,
    PG_FIND_WEBHOOK_AND_START,
    PG_PENDING_ROW,
    PG_RUN_BATCH,
)

pytestmark = pytest.mark.postgres_only

HOT = {
    "pending row": PG_PENDING_ROW,
    "webhook start": PG_FIND_WEBHOOK_AND_START,
    "claim": PG_CLAIM,
    "run batch": PG_RUN_BATCH,
}
GROWING = ("executions", "node_runs", "execution_events")


async def generic_plan(db: Database, statement: NumberedStatement) -> str:
    """The plan PostgreSQL keeps for the prepared statement, made on this database now."""
    pool = await db.direct_pg().connections()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"PREPARE hot AS {statement.sql}")
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        nulls = ", ".join(["NULL"] * len(statement.names))
        rows = await conn.fetch(f"EXPLAIN EXECUTE hot({nulls})")
        await conn.execute("DEALLOCATE hot")
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize("statement", HOT.values(), ids=HOT.keys())
async def test_a_generic_plan_made_on_empty_tables_scans_no_growing_table(
    db: Database, statement: NumberedStatement
) -> None:
    plan = await generic_plan(db, statement)

    for table in GROWING:
        assert f"Seq Scan on {table}" not in plan, plan


async def test_the_run_batch_locks_its_executions_through_the_primary_key(db: Database) -> None:
    plan = await generic_plan(db, PG_RUN_BATCH)

    assert "Index Scan using executions_pkey" in plan, plan
