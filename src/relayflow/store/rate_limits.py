"""Fixed-window request counters shared by every API process.

One atomic upsert per counted request (`count = count + 1 ... RETURNING count`),
in its own short transaction: holding the bucket's row lock until a slower
transaction commits would serialize every request on the same bucket. On
PostgreSQL that transaction skips the WAL flush: losing the last few counts in
a crash is harmless, waiting for the disk on every request is not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import utcnow
from relayflow.store.db import Database
from relayflow.store.models import RateLimitBucket
from relayflow.store.upsert import upsert_insert


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    count: int  # requests counted in the current window, this one included
    limit: int
    retry_after_s: float  # until the window ends


def window_start(now: dt.datetime, window_s: int) -> dt.datetime:
    epoch = int(now.replace(tzinfo=dt.UTC).timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % window_s, dt.UTC).replace(tzinfo=None)


async def count_request(
    db: Database,
    bucket: str,
    *,
    limit: int,
    window_s: int = 60,
    now: dt.datetime | None = None,
) -> RateLimitDecision:
    """Count one request against `bucket` and say whether it is within `limit`."""
    now = now or utcnow()
    start = window_start(now, window_s)
    insert = upsert_insert(db.engine.dialect.name, RateLimitBucket)
    statement = (
        insert.values(bucket=bucket, window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=[RateLimitBucket.bucket, RateLimitBucket.window_start],
            set_={"count": RateLimitBucket.count + 1},
        )
        .returning(RateLimitBucket.count)
    )
    async with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
        count = int((await conn.execute(statement)).scalar_one())
    retry_after = (start + dt.timedelta(seconds=window_s) - now).total_seconds()
    return RateLimitDecision(
        allowed=count <= limit, count=count, limit=limit, retry_after_s=max(retry_after, 0.0)
    )


async def purge_rate_limit_buckets(session: AsyncSession, *, before: dt.datetime) -> int:
    """Delete windows that started before `before`; returns how many."""
    result = await session.execute(
        delete(RateLimitBucket).where(RateLimitBucket.window_start < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
