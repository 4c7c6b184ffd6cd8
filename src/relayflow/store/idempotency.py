"""`Idempotency-Key` on webhooks: the first execution wins, enforced by a unique key.

A key stands for one request: the execution it started records the request's
hash (method, path and body) in its trigger, and a later delivery with the same
key must carry the same request to be answered with that execution
(`key_holder_request_hash`); the intake refuses a different one.

`claim_idempotency_key` runs in the transaction that creates the execution. Its
insert either takes the key (the caller goes on to create the execution) or
meets a key another request holds: on PostgreSQL the insert waits for that
transaction to commit or roll back, on SQLite writers are serialized anyway, so
there is no window where two requests both see "no key yet". A key older than
the window is taken over in the same statement, atomically.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import utcnow
from relayflow.store.db import Database
from relayflow.store.models import Execution, IdempotencyKey
from relayflow.store.upsert import upsert_insert

MAX_KEY_LENGTH = 255


async def claim_idempotency_key(
    session: AsyncSession,
    *,
    webhook_id: uuid.UUID,
    key: str,
    execution_id: uuid.UUID,
    window_s: float,
    now: dt.datetime | None = None,
) -> uuid.UUID | None:
    """Bind `key` to `execution_id`; None if taken, else the execution that holds it."""
    now = now or utcnow()
    insert = upsert_insert(session.get_bind().dialect.name, IdempotencyKey)
    statement = (
        insert.values(webhook_id=webhook_id, key=key, execution_id=execution_id, created_at=now)
        .on_conflict_do_update(
            index_elements=[IdempotencyKey.webhook_id, IdempotencyKey.key],
            set_={
                "execution_id": insert.excluded.execution_id,
                "created_at": insert.excluded.created_at,
            },
            # Only a key past its window may be taken over; a live one stays.
            where=IdempotencyKey.created_at < now - dt.timedelta(seconds=window_s),
        )
        .returning(IdempotencyKey.execution_id)
    )
    holder_query = select(IdempotencyKey.execution_id).where(
        IdempotencyKey.webhook_id == webhook_id, IdempotencyKey.key == key
    )
    # Two passes cover the holder's row disappearing between our insert and read
    # (its execution deleted): the second insert then takes the key.
    for _ in range(2):
        if (await session.execute(statement)).first() is not None:
            return None
        holder = await session.scalar(holder_query)
        if holder is not None:
            return holder
    raise errors.InternalError(f"idempotency key {key!r} could be neither taken nor read")


async def purge_idempotency_keys(session: AsyncSession, *, before: dt.datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def live_key_holder(
    db: Database, *, webhook_id: uuid.UUID, key: str, window_s: float
) -> uuid.UUID | None:
    """The execution holding `key` on the webhook, if the key is within its window."""
    cutoff = utcnow() - dt.timedelta(seconds=window_s)
    async with db.session() as session:
        return await session.scalar(
            select(IdempotencyKey.execution_id).where(
                IdempotencyKey.webhook_id == webhook_id,
                IdempotencyKey.key == key,
                IdempotencyKey.created_at >= cutoff,
            )
        )


async def key_holder_request_hash(db: Database, execution_id: uuid.UUID) -> str | None:
    """The request hash recorded by the execution holding a key (None: none recorded,
    e.g. a delivery from before hashes were kept)."""
    async with db.session() as session:
        trigger = await session.scalar(
            select(Execution.trigger).where(Execution.id == execution_id)
        )
    value = trigger.get("request_hash") if isinstance(trigger, dict) else None
    return value if isinstance(value, str) else None
