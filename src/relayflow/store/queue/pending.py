"""Writing a new execution in a caller's transaction (schedules, reruns, tools).

The row is `statements.starts.PENDING_ROW`, the one definition every start writes
(webhooks and API starts run it on the queue's drivers, see `Queue.insert_pending`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.ids import time_ordered_id
from relayflow.store import models
from relayflow.store.queue import signals
from relayflow.store.queue.rows import PendingRow, pending_params
from relayflow.store.queue.statements.starts import PENDING_ROW

_PENDING_ROW = {dialect: text(sql) for dialect, sql in PENDING_ROW.items()}


class PinnableWorkflow(Protocol):
    """The workflow a new execution pins (an ORM `Workflow` or a lean read)."""

    @property
    def id(self) -> uuid.UUID: ...


class RunnableVersion(Protocol):
    """A saved version to run instead of the workflow's draft (its graph is copied
    server-side by number)."""

    @property
    def number(self) -> int: ...


async def insert_pending(session: AsyncSession, row: PendingRow) -> bool:
    """Write the pending row in the session's transaction; False if its workflow does
    not exist. Workers are woken when the transaction commits."""
    dialect = signals.dialect_of(session)
    await session.flush()  # the workflow may be new in this very transaction
    result = await session.execute(_PENDING_ROW[dialect], pending_params(row, dialect))
    if not getattr(result, "rowcount", 0):
        return False
    await wake_workers(session)
    return True


async def create_pending_execution(
    session: AsyncSession,
    *,
    workflow: PinnableWorkflow,
    input: Any,
    trigger: Mapping[str, Any],
    user_id: uuid.UUID | None,
    execution_id: uuid.UUID | None = None,
    rerun_of: uuid.UUID | None = None,
    rerun_from_node: str | None = None,
    version: RunnableVersion | None = None,
) -> models.Execution:
    """Insert a `pending` execution pinning the workflow's graph (its draft, or
    `version`'s if given), in the caller's transaction, and return it. The row is
    the queue entry: nothing else is needed."""
    row = PendingRow(
        execution_id=execution_id or time_ordered_id(),
        workflow_id=workflow.id,
        user_id=user_id,
        input=input,
        trigger=dict(trigger),
        rerun_of=rerun_of,
        rerun_from_node=rerun_from_node,
        version=None if version is None else version.number,
    )
    if not await insert_pending(session, row):
        if version is not None:
            raise errors.NotFound(f"workflow {workflow.id} has no version {version.number}")
        raise errors.NotFound(f"workflow {workflow.id} not found")
    execution = await session.get(models.Execution, row.execution_id)
    assert execution is not None
    return execution


async def wake_workers(session: AsyncSession) -> None:
    """Tell workers that pending executions exist, once the transaction commits.

    PostgreSQL: NOTIFY `relayflow_work` sent right after the commit (not inside
    the transaction: see `signals` for why); SQLite: the in-process signal.
    """
    await signals.signal(session, signals.WORK)


async def request_cancel_signal(session: AsyncSession, execution_id: uuid.UUID) -> None:
    """Tell the worker running `execution_id` to cancel it, once the transaction commits.

    The caller sets `cancel_requested`; this only makes the worker notice at once
    (workers also re-read the flag with every heartbeat).
    """
    await signals.signal(session, signals.CANCEL, str(execution_id))


async def get_execution(session: AsyncSession, execution_id: uuid.UUID) -> models.Execution:
    execution = await session.get(models.Execution, execution_id)
    if execution is None:
        raise errors.NotFound(f"execution {execution_id} not found")
    return execution
