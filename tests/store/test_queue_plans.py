"""PostgreSQL: the queue's hot statements find their rows through indexes whatever the
planner believes of the tables' sizes.

asyncpg prepares each statement, and PostgreSQL may then keep one generic plan for
it, made while the tables were small, until they are next analyzed. The run batch's
plan scanned `executions` whole for the batch's few rows, a cost that grew with every
run (1.6 ms per batch on a new database within seconds of load); the statements are
written so that no plan can.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from relayflow.store.db import Database
from relayflow.store.queue.drivers import NumberedStatement
from relayflow.store.queue.statements.batches import PG_RUN_BATCH
from relayflow.store.queue.statements.claims import PG_CLAIM, PG_CLAIM_OF_USERS, PG_CLAIM_UNCAPPED
from relayflow.store.queue.statements.starts import PG_FIND_WEBHOOK_AND_START, PG_PENDING_ROW

pytestmark = pytest.mark.postgres_only

HOT = {
    "pending row": PG_PENDING_ROW,
    "webhook start": PG_FIND_WEBHOOK_AND_START,
    "claim": PG_CLAIM,
    "claim of users": PG_CLAIM_OF_USERS,
    "claim without caps": PG_CLAIM_UNCAPPED,
    "run batch": PG_RUN_BATCH,
}
GROWING = ("executions", "node_runs", "execution_events")


async def generic_plan(db: Database, statement: NumberedStatement) -> str:
    """The plan PostgreSQL keeps for the prepared statement, made on this database now
    (on the connections the statement runs on)."""
    claims = statement in (PG_CLAIM, PG_CLAIM_OF_USERS, PG_CLAIM_UNCAPPED)
    pool = await (db.claims_pg() if claims else db.direct_pg()).connections()
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


# What a claim may read executions through: the partial indexes on live rows (and
# the primary key, for the rows it claims). Anything else grows with the history or
# with someone's backlog.
LIVE_ROWS = {
    "ix_executions_pending_user_started",
    "ix_executions_processing_user_id",
    "executions_pkey",
}
USED_INDEX = re.compile(r"(?:Index|Index Only) Scan using (\w+) on executions")


async def seed_statistics(db: Database, *, finished: int, pending: int, users: int) -> None:
    """`finished` executions of history and `pending` ones for the first of `users`
    users (a burst), with the planner's statistics taken then."""
    async with db.transaction() as session:
        for n in range(users):
            user = await session.scalar(
                text(
                    "INSERT INTO users (id, email, password_hash, role) VALUES "
                    "(gen_random_uuid(), :email, '-', 'user') RETURNING id"
                ),
                {"email": f"u{n}@example.com"},
            )
            workflow = await session.scalar(
                text(
                    "INSERT INTO workflows (id, user_id, name, nodes, edges) VALUES "
                    "(gen_random_uuid(), :user, 'w', '[]', '[]') RETURNING id"
                ),
                {"user": user},
            )
            await session.execute(
                text(
                    "INSERT INTO executions (id, workflow_id, user_id, status, started_at) "
                    "SELECT gen_random_uuid(), :workflow, :user, "
                    "CASE WHEN g <= :finished THEN 'completed' ELSE 'pending' END, "
                    "now() + g * interval '1 ms' FROM generate_series(1, :total) AS g"
                ),
                {
                    "workflow": workflow,
                    "user": user,
                    "finished": finished,
                    "total": finished + (pending if n == 0 else 1),
                },
            )
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE executions"))


SHAPES = {
    "new table": {"finished": 0, "pending": 0, "users": 0},
    "one user's burst": {"finished": 0, "pending": 5000, "users": 1},
    "a history and a burst": {"finished": 20000, "pending": 3000, "users": 3},
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize(
    "statement", [PG_CLAIM, PG_CLAIM_OF_USERS], ids=["claim", "claim of users"]
)
async def test_a_claim_reads_executions_through_live_rows_whatever_the_statistics(
    db: Database, statement: NumberedStatement, shape: dict[str, int]
) -> None:
    # With `user_id = $1` the planner took the status or age index (every pending
    # row), a bitmap over the user's backlog, or the user's history, depending on
    # the statistics.
    await seed_statistics(db, **shape)

    plan = await generic_plan(db, statement)

    assert set(USED_INDEX.findall(plan)) <= LIVE_ROWS, plan
    assert "Bitmap" not in plan, plan
    assert "Seq Scan on executions" not in plan, plan
