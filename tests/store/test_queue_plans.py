"""PostgreSQL: the run batch finds its executions through the primary key whatever the
planner believes of the table's size.

asyncpg prepares the statement; after a few runs PostgreSQL may keep a generic plan
made while the table was small, until the table is next analyzed. A plan that scanned
`executions` whole for the batch's few rows grew with every run (1.6 ms per batch on a
new database within seconds of load), so the statement is written so that no plan can.
"""

from __future__ import annotations

import uuid

import pytest

from relayflow.store.db import Database
from relayflow.store.queue.batches import RunBatch, run_batch_values
from relayflow.store.queue.statements import PG_RUN_BATCH

pytestmark = pytest.mark.postgres_only


async def test_the_run_batch_locks_its_executions_by_primary_key_on_a_table_thought_small(
    db: Database,
) -> None:
    batch = RunBatch(leases={uuid.uuid4(): 1 for _ in range(8)})
    pool = await db.direct_pg().connections()
    async with pool.acquire() as conn:
        # The empty table of a new database: the cheapest plan by cost is a scan.
        rows = await conn.fetch(
            "EXPLAIN " + PG_RUN_BATCH.sql, *PG_RUN_BATCH.arguments(run_batch_values(batch))
        )
    plan = "\n".join(row[0] for row in rows)

    assert "Seq Scan on executions" not in plan, plan
    assert "Index Scan using executions_pkey" in plan, plan
