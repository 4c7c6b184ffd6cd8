"""Idempotency keys: the first execution holds the key for the window."""

from __future__ import annotations

import datetime as dt
import uuid

from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.idempotency import claim_idempotency_key, purge_idempotency_keys
from relayflow.store.queue.pending import create_pending_execution
from tests.triggers.conftest import Hook, MakeHook

NOW = dt.datetime(2026, 5, 4, 9, 0)
DAY = 24 * 3600.0


async def claim(
    db: Database, hook: Hook, key: str, *, now: dt.datetime
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Try to take `key` for a new execution, as the webhook intake does."""
    execution_id = uuid.uuid4()
    async with db.transaction() as session:
        holder = await claim_idempotency_key(
            session, webhook_id=hook.id, key=key, execution_id=execution_id, window_s=DAY, now=now
        )
        if holder is None:
            workflow = await session.get(models.Workflow, hook.workflow_id)
            assert workflow is not None
            await create_pending_execution(
                session,
                workflow=workflow,
                input=None,
                trigger={"type": "api"},
                user_id=None,
                execution_id=execution_id,
            )
    return execution_id, holder


async def test_first_claim_takes_the_key_later_ones_get_its_execution(
    db: Database, hook: Hook
) -> None:
    first, holder = await claim(db, hook, "k", now=NOW)
    assert holder is None
    _, holder = await claim(db, hook, "k", now=NOW + dt.timedelta(hours=23))
    assert holder == first


async def test_a_key_past_its_window_is_taken_over(db: Database, hook: Hook) -> None:
    await claim(db, hook, "k", now=NOW)
    second, holder = await claim(db, hook, "k", now=NOW + dt.timedelta(hours=25))
    assert holder is None
    _, holder = await claim(db, hook, "k", now=NOW + dt.timedelta(hours=26))
    assert holder == second


async def test_keys_are_per_webhook(db: Database, hook: Hook, make_hook: MakeHook) -> None:
    other = await make_hook()
    await claim(db, hook, "shared", now=NOW)
    _, holder = await claim(db, other, "shared", now=NOW)
    assert holder is None


async def test_expired_keys_are_purged(db: Database, hook: Hook) -> None:
    await claim(db, hook, "old", now=NOW - dt.timedelta(days=2))
    await claim(db, hook, "new", now=NOW)
    async with db.transaction() as session:
        assert await purge_idempotency_keys(session, before=NOW - dt.timedelta(seconds=DAY)) == 1
