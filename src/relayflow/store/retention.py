"""Deleting finished executions past their retention, a small batch per transaction.

A batch is one `DELETE ... WHERE id IN (SELECT ... LIMIT n)`: its node runs, events
and idempotency keys go with it (ON DELETE CASCADE), schedules and reruns that
named it keep a NULL (ON DELETE SET NULL). Each batch is its own short transaction,
so neither database holds a lock for long.

What is never deleted: executions that are not finished (`pending`, `processing`,
`waiting`), those that finished after the cutoff, and those tied to a live
execution by a rerun (a live rerun copies its source's node runs when it starts;
a rerun of a live execution is kept with it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from relayflow.domain import ExecutionStatus
from relayflow.store.models import Execution, Workflow

FINISHED = tuple(status.value for status in ExecutionStatus if status.is_final)


@dataclass(frozen=True)
class WorkflowRetention:
    workflow_id: uuid.UUID
    days: int


async def workflow_retentions(session: AsyncSession) -> list[WorkflowRetention]:
    """Workflows with their own retention (`workflows.retention_days`)."""
    rows = await session.execute(
        select(Workflow.id, Workflow.retention_days).where(Workflow.retention_days.is_not(None))
    )
    return [WorkflowRetention(workflow_id, days) for workflow_id, days in rows if days]


def _expired(before: dt.datetime) -> ColumnElement[bool]:
    """Finished before `before` and not tied to a live execution by a rerun."""
    rerun = aliased(Execution)
    source = aliased(Execution)
    live_rerun = exists().where(rerun.rerun_of == Execution.id, rerun.status.not_in(FINISHED))
    live_source = exists().where(source.id == Execution.rerun_of, source.status.not_in(FINISHED))
    return and_(
        Execution.status.in_(FINISHED),
        # started_at first: the seed's index on it narrows the scan to old rows.
        Execution.started_at < before,
        func.coalesce(Execution.completed_at, Execution.started_at) < before,
        ~live_rerun,
        ~live_source,
    )


async def delete_expired_batch(
    session: AsyncSession,
    *,
    before: dt.datetime,
    limit: int,
    workflow_id: uuid.UUID | None = None,
    inheriting_only: bool = False,
) -> int:
    """Delete up to `limit` executions that finished before `before`; how many went.

    `workflow_id` limits the batch to one workflow; `inheriting_only` to workflows
    without a retention of their own (and executions whose workflow is gone).
    """
    conditions = [_expired(before)]
    if workflow_id is not None:
        conditions.append(Execution.workflow_id == workflow_id)
    if inheriting_only:
        with_own = select(Workflow.id).where(Workflow.retention_days.is_not(None))
        conditions.append(
            or_(Execution.workflow_id.is_(None), Execution.workflow_id.not_in(with_own))
        )
    batch = (
        select(Execution.id)
        .where(*conditions)
        .order_by(Execution.started_at)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(Execution)
        .where(Execution.id.in_(batch))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
