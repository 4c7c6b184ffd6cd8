"""PostgreSQL: the executions table kept clean of dead rows when autovacuum does not.

Every execution's row is updated several times (pending, processing, its outcome),
and each update that moves it out of one of the queue's partial indexes (migration
0008) leaves a dead entry there until a VACUUM removes it. Claims read those indexes
from each user's oldest entry, so they step over every dead entry of the user's past
work: on a server with autovacuum off, right after a 60 s burst, a claim read 1,280
buffers and took 1.5 ms. Migration 0008 asks autovacuum to visit the table after
1,000 dead rows; where autovacuum is off or behind, the workers do it, one at a time
across processes (a session advisory lock, released if the process dies), when the
table holds `dead_rows` dead rows and was not vacuumed for `interval_s`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

from relayflow.store.queue.drivers import asyncpg_dsn

if TYPE_CHECKING:
    from relayflow.store.db import Database

UPKEEP_LOCK_KEY = 0x7266_7661_6375  # "rfvacu"
_DEAD_ROWS = """
SELECT n_dead_tup,
       extract(epoch FROM now() - greatest(last_vacuum, last_autovacuum)) AS since_s
FROM pg_stat_user_tables WHERE relid = to_regclass('executions')
"""
# INDEX_CLEANUP ON: the dead index entries are the point, even when they are few
# against the table; SKIP_LOCKED: autovacuum at work on the table is enough.
_VACUUM = "VACUUM (INDEX_CLEANUP ON, SKIP_LOCKED) executions"


@dataclass(frozen=True)
class Vacuumed:
    dead_rows: int
    seconds: float


async def vacuum_when_due(db: Database, *, dead_rows: int, interval_s: float) -> Vacuumed | None:
    """VACUUM the executions table if it holds at least `dead_rows` dead rows and no
    vacuum ran for `interval_s`, unless another process is at it; what was done.
    The look is a read on the hot paths' pool; the VACUUM (seconds, holding the
    lock) runs on a connection of its own, opened only when one is due."""
    row = await db.direct_pg().fetchrow(_DEAD_ROWS)
    if row is None or row["n_dead_tup"] < dead_rows:
        return None
    if row["since_s"] is not None and float(row["since_s"]) < interval_s:
        return None
    conn = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", UPKEEP_LOCK_KEY):
            return None
        started = time.perf_counter()
        try:
            await conn.execute(_VACUUM)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", UPKEEP_LOCK_KEY)
        return Vacuumed(int(row["n_dead_tup"]), time.perf_counter() - started)
    finally:
        await conn.close()
