"""Rows of `execution_events`: appended by writers, read back by subscribers in id order."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import ExecutionStatus, utcnow
from relayflow.store import models
from relayflow.store.queue import signals

_events = cast(Table, models.ExecutionEvent.__table__)
_executions = cast(Table, models.Execution.__table__)
FINAL_STATUSES = frozenset(s.value for s in ExecutionStatus if s.is_final)
# An execution settles when it finishes or pauses for an approval: what `?wait` waits for.
SETTLED_STATUSES = FINAL_STATUSES | {ExecutionStatus.WAITING.value}


def settles(kind: str, payload: Mapping[str, Any]) -> bool:
    """The event records that its execution settled (finished, or waits for a person)."""
    return kind == "execution.status" and payload.get("status") in SETTLED_STATUSES


@dataclass(frozen=True)
class StoredEvent:
    id: int
    execution_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    created_at: dt.datetime

    @property
    def is_final(self) -> bool:
        """Carries a final execution status: the last event of an execution."""
        return self.kind == "execution.status" and self.payload.get("status") in FINAL_STATUSES


EventRow = tuple[uuid.UUID, str, Mapping[str, Any]]


async def append_events(
    session: AsyncSession,
    rows: Sequence[EventRow],
    *,
    return_ids: bool = True,
    announce_settled: bool = True,
) -> list[int]:
    """Insert events in order and notify subscribers on commit; returns their ids.

    Executions these events settle are announced on `signals.OUTCOMES` too (for
    the requests that wait for them), unless the caller announces them itself.

    Event ids must become visible in id order per execution, so a subscriber that
    has seen id N never later finds a smaller one: the caller must hold the row
    lock of each execution (`executions.fence` or `lock_for_events`) first.
    Rows are inserted in the given order, so their ids follow it.
    """
    if not rows:
        return []
    now = utcnow()
    values = [
        {"execution_id": eid, "kind": kind, "payload": dict(payload), "created_at": now}
        for eid, kind, payload in rows
    ]
    ids: list[int] = []
    if return_ids:
        result = await session.execute(
            insert(_events).returning(_events.c.id, sort_by_parameter_order=True), values
        )
        ids = [row.id for row in result.all()]
    else:
        await session.execute(insert(_events), values)
    await notify_subscribers(session, {eid for eid, _, _ in rows})
    if announce_settled:
        for eid in {eid for eid, kind, payload in rows if settles(kind, payload)}:
            await signals.signal(session, signals.OUTCOMES, str(eid))
    return ids


async def lock_for_events(session: AsyncSession, execution_id: uuid.UUID) -> bool:
    """Take the execution's row lock before appending events; False if it does not exist."""
    # FOR NO KEY UPDATE on PostgreSQL; SQLite (one writer at a time) renders no lock.
    query = (
        select(_executions.c.id)
        .where(_executions.c.id == execution_id)
        .with_for_update(key_share=True)
    )
    return (await session.execute(query)).first() is not None


async def notify_subscribers(session: AsyncSession, execution_ids: Iterable[uuid.UUID]) -> None:
    """Wake the subscribers of these executions (in every process) once the session commits."""
    for execution_id in set(execution_ids):
        await signals.signal(session, signals.EVENTS, str(execution_id))


async def fetch_events(
    session: AsyncSession, execution_id: uuid.UUID, *, after_id: int = 0, limit: int = 500
) -> list[StoredEvent]:
    """Stored events of one execution with id > after_id, oldest first."""
    rows = await session.execute(
        select(_events)
        .where(_events.c.execution_id == execution_id, _events.c.id > after_id)
        .order_by(_events.c.id)
        .limit(limit)
    )
    return [
        StoredEvent(
            id=row.id,
            execution_id=row.execution_id,
            kind=row.kind,
            payload=row.payload or {},
            created_at=row.created_at,
        )
        for row in rows
    ]


async def execution_status(session: AsyncSession, execution_id: uuid.UUID) -> str | None:
    """The execution's current status, or None when it does not exist."""
    result = await session.execute(
        select(_executions.c.status).where(_executions.c.id == execution_id)
    )
    return result.scalar_one_or_none()


async def count_events(session: AsyncSession, execution_id: uuid.UUID) -> int:
    result = await session.execute(
        select(func.count()).where(_events.c.execution_id == execution_id)
    )
    return int(result.scalar_one())
