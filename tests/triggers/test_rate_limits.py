"""Fixed-window counters in the database, shared by every process."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from relayflow.store.db import Database
from relayflow.store.models import RateLimitBucket
from relayflow.store.rate_limits import count_request, purge_rate_limit_buckets

NOW = dt.datetime(2026, 5, 4, 9, 15, 40)


async def test_requests_past_the_limit_are_refused_until_the_window_ends(db: Database) -> None:
    decisions = [await count_request(db, "hook:a", limit=2, now=NOW) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[-1].count == 3
    assert decisions[-1].retry_after_s == 20.0  # the minute ends at 09:16:00

    next_window = await count_request(db, "hook:a", limit=2, now=NOW + dt.timedelta(seconds=20))
    assert next_window.allowed
    assert next_window.count == 1


async def test_concurrent_requests_are_all_counted(db: Database) -> None:
    decisions = await asyncio.gather(
        *(count_request(db, "hook:b", limit=100, now=NOW) for _ in range(25))
    )
    assert sorted(d.count for d in decisions) == list(range(1, 26))


async def test_buckets_are_independent(db: Database) -> None:
    await count_request(db, "hook:c", limit=1, now=NOW)
    assert (await count_request(db, "hook:d", limit=1, now=NOW)).allowed


async def test_old_windows_are_purged(db: Database) -> None:
    await count_request(db, "hook:e", limit=1, now=NOW - dt.timedelta(hours=1))
    await count_request(db, "hook:e", limit=1, now=NOW)
    async with db.transaction() as session:
        assert await purge_rate_limit_buckets(session, before=NOW - dt.timedelta(minutes=10)) == 1
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(RateLimitBucket)) == 1
