"""Numbered concurrency slots per model provider, shared by every worker.

A slot row is free when it has no holder or its hold expired (the holder died);
taking one is an atomic UPDATE of a free row (SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import utcnow
from relayflow.store import models
from relayflow.store.queue import signals

_slots = cast(Table, models.ProviderSlot.__table__)


async def ensure_slots(session: AsyncSession, provider: str, count: int) -> None:
    """Make sure slots 0..count-1 exist for the provider."""
    rows = [{"provider": provider, "slot": n} for n in range(count)]
    if signals.is_postgres_session(session):
        await session.execute(pg_insert(_slots).values(rows).on_conflict_do_nothing())
    else:
        await session.execute(sqlite_insert(_slots).values(rows).on_conflict_do_nothing())


async def take_slot(
    session: AsyncSession, provider: str, *, limit: int, holder: str, hold_seconds: float
) -> int | None:
    """Take a free slot below `limit`; its number, or None when all are busy."""
    now = utcnow()
    free = (
        select(_slots.c.slot)
        .where(
            _slots.c.provider == provider,
            _slots.c.slot < limit,
            or_(_slots.c.holder.is_(None), _slots.c.expires_at < now),
        )
        .order_by(_slots.c.slot)
        .limit(1)
    )
    if signals.is_postgres_session(session):
        free = free.with_for_update(skip_locked=True)
    row = (await session.execute(free)).first()
    if row is None:
        return None
    taken = await session.execute(
        update(_slots)
        .where(
            _slots.c.provider == provider,
            _slots.c.slot == row.slot,
            or_(_slots.c.holder.is_(None), _slots.c.expires_at < now),
        )
        .values(holder=holder, expires_at=now + dt.timedelta(seconds=hold_seconds))
        .returning(_slots.c.slot)
    )
    got = taken.first()
    return None if got is None else int(got.slot)


async def extend_slot(
    session: AsyncSession, provider: str, slot: int, *, holder: str, hold_seconds: float
) -> bool:
    result = await session.execute(
        update(_slots)
        .where(and_(_slots.c.provider == provider, _slots.c.slot == slot))
        .where(_slots.c.holder == holder)
        .values(expires_at=utcnow() + dt.timedelta(seconds=hold_seconds))
        .returning(_slots.c.slot)
    )
    return result.first() is not None


async def release_slot(session: AsyncSession, provider: str, slot: int, *, holder: str) -> None:
    await session.execute(
        update(_slots)
        .where(_slots.c.provider == provider, _slots.c.slot == slot, _slots.c.holder == holder)
        .values(holder=None, expires_at=None)
    )
    await signals.signal(session, signals.SLOTS, provider)


async def held_slots(session: AsyncSession, provider: str) -> int:
    """How many slots of the provider are held right now."""
    now = utcnow()
    rows = await session.execute(
        select(_slots.c.slot).where(
            _slots.c.provider == provider, _slots.c.holder.is_not(None), _slots.c.expires_at >= now
        )
    )
    return len(rows.all())
