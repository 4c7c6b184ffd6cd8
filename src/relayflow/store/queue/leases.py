"""Leases: renewing them, fencing writes with them, ending and giving back executions,
and reaping the leases of workers that vanished.

Every write a worker makes after claiming is fenced by the lease token: it only
applies while the row is still `processing` with the token the worker got at
claim time. The token grows on every claim, so a worker whose lease expired and
was taken over can no longer change the execution (`errors.LeaseLost`).

Times are naive UTC from the application clock (`domain.utcnow`), like the
seed's columns; lease expiry therefore tolerates clock skew between machines up
to the lease length.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import DateTime, Integer, Table, and_, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from relayflow import errors
from relayflow.domain import ExecutionStatus, utcnow
from relayflow.store import models
from relayflow.store.queue import events, signals
from relayflow.store.queue.pending import wake_workers
from relayflow.store.queue.rows import (
    PENDING,
    PROCESSING,
    LeaseState,
    Outcome,
    ReapedExecution,
    status_event,
)
from relayflow.store.queue.statements import RELAX_DURABILITY

_executions = cast(Table, models.Execution.__table__)


async def commit_without_waiting_for_disk(session: AsyncSession) -> None:
    """Let this transaction's commit return before PostgreSQL flushes it to disk.

    For writes that are safe to lose in a crash of the database server (not of a
    worker): claims, lease renewals, starts of node attempts, events. The write
    is visible to everyone at once; PostgreSQL flushes its log in order, so the
    next durable commit makes it durable too. A lost claim is harmless: its
    token no longer matches and the execution is simply claimed again.
    """
    statement = RELAX_DURABILITY[signals.dialect_of(session)]
    if statement is not None:
        await session.execute(text(statement))


async def renew_leases(
    session: AsyncSession,
    *,
    owner: str,
    tokens: Mapping[uuid.UUID, int],
    lease_seconds: float,
) -> dict[uuid.UUID, LeaseState]:
    """Extend the leases `owner` still holds; report lost ones and cancel requests."""
    if not tokens:
        return {}
    now = utcnow()
    e = _executions
    # Rows locked in id order, as the journal's batch locks them: two statements
    # taking the same rows in different orders deadlock on PostgreSQL.
    held = (
        select(e.c.id)
        .where(e.c.id.in_(list(tokens)), e.c.lease_owner == owner, e.c.status == PROCESSING)
        .order_by(e.c.id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE (nothing on SQLite)
    )
    rows = (
        await session.execute(
            update(e)
            .where(e.c.id.in_(held.scalar_subquery()))
            .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
            .returning(e.c.id, e.c.lease_token, e.c.cancel_requested)
        )
    ).all()
    found = {row.id: row for row in rows}
    states: dict[uuid.UUID, LeaseState] = {}
    for execution_id, token in tokens.items():
        row = found.get(execution_id)
        if row is None or row.lease_token != token:
            states[execution_id] = LeaseState(held=False)
        else:
            states[execution_id] = LeaseState(held=True, cancel_requested=row.cancel_requested)
    return states


async def cancel_requested_among(
    session: AsyncSession, execution_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these executions someone asked to cancel (a cheap read for polling)."""
    if not execution_ids:
        return set()
    e = _executions
    rows = await session.execute(
        select(e.c.id).where(e.c.id.in_(list(execution_ids)), e.c.cancel_requested.is_(True))
    )
    return {row.id for row in rows}


async def fence(
    session: AsyncSession, leases: Mapping[uuid.UUID, int]
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Lock the executions whose lease token still matches; return (held, lost).

    Must be the first write of the transaction: the row locks it takes keep a
    claim or the reaper from changing the lease until this transaction ends.
    """
    if not leases:
        return set(), set()
    e = _executions
    rows = (
        await session.execute(
            update(e)
            .where(e.c.id.in_(list(leases)), e.c.status == PROCESSING)
            .values(updated_at=utcnow())
            .returning(e.c.id, e.c.lease_token)
        )
    ).all()
    current = {row.id: row.lease_token for row in rows}
    held = {eid for eid, token in leases.items() if current.get(eid) == token}
    return held, set(leases) - held


async def fence_one(session: AsyncSession, execution_id: uuid.UUID, token: int) -> None:
    """`fence` for one execution; raises `errors.LeaseLost` if the lease is gone."""
    _, lost = await fence(session, {execution_id: token})
    if lost:
        raise errors.LeaseLost(f"execution {execution_id}: this worker no longer holds its lease")


# ----------------------------------------------------------------- finishing
class _MsSinceStart(FunctionElement[int]):
    """Milliseconds from the row's started_at to the bound `now`, computed by the database."""

    type = Integer()
    inherit_cache = True


@compiles(_MsSinceStart, "postgresql")
def _ms_pg(element: _MsSinceStart, compiler: SQLCompiler, **kw: Any) -> str:
    now, started = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(extract(epoch FROM {now} - {started}) * 1000 AS INTEGER)"


@compiles(_MsSinceStart, "sqlite")
def _ms_sqlite(element: _MsSinceStart, compiler: SQLCompiler, **kw: Any) -> str:
    now, started = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST((julianday({now}) - julianday({started})) * 86400.0 * 1000 AS INTEGER)"


_OUTCOME_COLUMNS = (
    "status",
    "output",
    "error",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "waiting_on",
)


async def write_outcomes(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Write outcomes of executions whose lease the transaction holds (`fence` first).

    Final outcomes set completed_at and duration_ms (from started_at) and drop the
    lease; `waiting` keeps the execution open for an approval. Usage and cost are
    the totals over all node runs, as the executor reports them.
    """
    if not outcomes:
        return
    e = _executions
    now = bindparam("b_now", type_=DateTime())
    for final in (True, False):
        rows = [
            {
                "b_id": o.execution_id,
                "b_token": o.lease_token,
                "b_now": utcnow(),
                "b_status": o.status.value,
                "b_output": o.output,
                "b_error": o.error,
                "b_input_tokens": o.input_tokens,
                "b_output_tokens": o.output_tokens,
                "b_cost_usd": o.cost_usd,
                "b_waiting_on": None if final else list(o.waiting_on),
            }
            for o in outcomes
            if o.status.is_final is final
        ]
        if not rows:
            continue
        values: dict[str, Any] = {
            name: bindparam(f"b_{name}", type_=e.c[name].type) for name in _OUTCOME_COLUMNS
        }
        values.update(updated_at=now, lease_owner=None, lease_expires_at=None)
        if final:
            values.update(completed_at=now, duration_ms=_MsSinceStart(now, e.c.started_at))
        statement = (
            update(e)
            .where(
                e.c.id == bindparam("b_id"),
                e.c.lease_token == bindparam("b_token"),
                e.c.status == PROCESSING,
            )
            .values(values)
        )
        await session.execute(statement, rows)


async def finish_execution(session: AsyncSession, outcome: Outcome) -> None:
    """Write one outcome fenced by its lease token, with its status event.

    Raises `errors.LeaseLost` when the lease is no longer held: nothing is written.
    """
    await fence_one(session, outcome.execution_id, outcome.lease_token)
    await write_outcomes(session, [outcome])
    await events.append_events(
        session, [(outcome.execution_id, "execution.status", status_event(outcome))]
    )


# ----------------------------------------------------------------- giving back
async def release_executions(
    session: AsyncSession, leases: Mapping[uuid.UUID, int], *, reason: str
) -> set[uuid.UUID]:
    """Hand executions back to the queue (graceful shutdown); returns those released.

    Not a lost lease: the counter that fails executions is left alone.
    """
    if not leases:
        return set()
    e = _executions
    released: set[uuid.UUID] = set()
    now = utcnow()
    for execution_id, token in leases.items():
        result = await session.execute(
            update(e)
            .where(e.c.id == execution_id, e.c.lease_token == token, e.c.status == PROCESSING)
            .values(status=PENDING, lease_owner=None, lease_expires_at=None, updated_at=now)
            .returning(e.c.id)
        )
        if result.first() is not None:
            released.add(execution_id)
    await events.append_events(
        session,
        [(eid, "execution.status", {"status": PENDING, "reason": reason}) for eid in released],
    )
    if released:
        await wake_workers(session)
    return released


async def reap_expired_leases(
    session: AsyncSession, *, max_lost_leases: int, limit: int = 500
) -> list[ReapedExecution]:
    """Return executions whose lease expired to `pending`, or fail them after too many losses.

    The reason is recorded as an `execution.status` event. On PostgreSQL rows a
    live transaction holds are skipped (their worker is writing right now); SQLite
    has no row locks (SQLAlchemy renders no FOR UPDATE there).
    """
    e = _executions
    now = utcnow()
    query = (
        select(e.c.id, e.c.lease_owner, e.c.lost_leases, e.c.lease_expires_at, e.c.started_at)
        .where(e.c.status == PROCESSING, e.c.lease_expires_at < now)
        .order_by(e.c.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(query)).all()
    reaped: list[ReapedExecution] = []
    new_events: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    for row in rows:
        lost = row.lost_leases + 1
        owner = row.lease_owner or "unknown"
        failed = lost >= max_lost_leases
        values: dict[str, Any] = {
            "lost_leases": lost,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
        }
        if failed:
            message = (
                f"the execution lost its worker {lost} times (last: {owner}, lease expired); "
                f"giving up after RELAYFLOW_MAX_LOST_LEASES={max_lost_leases}"
            )
            values.update(status=ExecutionStatus.FAILED.value, error=message, completed_at=now)
            if row.started_at is not None:
                values["duration_ms"] = int((now - row.started_at).total_seconds() * 1000)
            payload: dict[str, Any] = {"status": ExecutionStatus.FAILED.value, "error": message}
        else:
            values["status"] = PENDING
            payload = {
                "status": PENDING,
                "reason": f"the lease of worker {owner} expired (lost {lost} time(s)); "
                "the execution will resume on another worker",
            }
        result = await session.execute(
            update(e)
            .where(
                e.c.id == row.id,
                e.c.status == PROCESSING,
                and_(e.c.lease_expires_at.is_not(None), e.c.lease_expires_at < now),
            )
            .values(**values)
            .returning(e.c.id)
        )
        if result.first() is None:
            continue  # renewed meanwhile (SQLite has no row locks to rely on)
        reaped.append(ReapedExecution(row.id, row.lease_owner, lost, failed))
        new_events.append((row.id, "execution.status", payload))
    await events.append_events(session, new_events)
    if any(not r.failed for r in reaped):
        await wake_workers(session)
    return reaped
