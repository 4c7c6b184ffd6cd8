"""Webhook signatures already accepted: a signed delivery starts at most one execution.

A signature covers `{timestamp}.{body}` and stays valid while its timestamp is
within the tolerance of the server's clock; until then it is kept here, keyed by
webhook and signature, and a second delivery carrying it is refused. One
statement decides (the primary key), so concurrent replays cannot both pass; the
table is shared by every API process. Housekeeping purges expired rows.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import utcnow
from relayflow.store.db import Database
from relayflow.store.models import SeenSignature
from relayflow.store.upsert import upsert_insert


async def first_use_of_signature(
    db: Database,
    *,
    webhook_id: uuid.UUID,
    signature: str,
    expires_at: dt.datetime,
    now: dt.datetime | None = None,
) -> bool:
    """Record `signature`; False if it was already recorded (and has not expired)."""
    now = now or utcnow()
    insert = upsert_insert(db.engine.dialect.name, SeenSignature)
    statement = (
        insert.values(webhook_id=webhook_id, signature=signature, expires_at=expires_at)
        .on_conflict_do_update(
            index_elements=[SeenSignature.webhook_id, SeenSignature.signature],
            set_={"expires_at": insert.excluded.expires_at},
            # Only an expired record may be taken over (its signature is stale by now).
            where=SeenSignature.expires_at < now,
        )
        .returning(SeenSignature.signature)
    )
    async with db.transaction() as session:
        return (await session.execute(statement)).first() is not None


async def purge_seen_signatures(session: AsyncSession, *, now: dt.datetime) -> int:
    """Forget signatures whose timestamps are past the tolerance (they are refused anyway)."""
    result = await session.execute(delete(SeenSignature).where(SeenSignature.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
