"""Reading executions: who may see which, lists with filters, one with its node runs.

An execution is visible to admins, to the user who started it (`user_id`: a run
of someone's public workflow belongs to whoever ran it), and to the owner of its
workflow (every run of their workflow, including those of other users).
Anything else is `NotFound`, exactly like an unknown id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import Actor, ExecutionStatus
from relayflow.store.models import Execution, Workflow
from relayflow.store.node_run_reads import NodeRunPage, RunTotals, node_runs_page, run_totals
from relayflow.store.pagination import DEFAULT_LIMIT, Page, newest_first, newest_first_of_any
from relayflow.store.webhooks import webhook_for_key


@dataclass(frozen=True)
class ExecutionFilter:
    """`since` is inclusive and `until` exclusive, both on `started_at` (naive UTC)."""

    workflow_id: uuid.UUID | None = None
    status: ExecutionStatus | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class ExecutionDetail:
    execution: Execution
    node_runs: NodeRunPage  # the first page, in start order
    totals: RunTotals


def can_see(actor: Actor, execution: Execution, workflow_owner: uuid.UUID | None) -> bool:
    return (
        actor.is_admin
        or (execution.user_id is not None and execution.user_id == actor.user_id)
        or (workflow_owner is not None and workflow_owner == actor.user_id)
    )


async def get_visible_execution(
    session: AsyncSession, actor: Actor, execution_id: uuid.UUID
) -> Execution:
    """An execution the actor may see (and act on); else `NotFound`."""
    row = (
        await session.execute(
            select(Execution, Workflow.user_id)
            .outerjoin(Workflow, Workflow.id == Execution.workflow_id)
            .where(Execution.id == execution_id)
        )
    ).first()
    if row is None or not can_see(actor, row[0], row[1]):
        raise errors.NotFound(f"execution {execution_id} not found")
    execution: Execution = row[0]
    return execution


def check_filter(filters: ExecutionFilter) -> None:
    if filters.since is not None and filters.until is not None and filters.until <= filters.since:
        raise errors.InvalidInput(
            "until: must be later than since",
            details=[{"field": "until", "message": "must be later than since"}],
        )


async def list_executions(
    session: AsyncSession,
    actor: Actor,
    filters: ExecutionFilter = ExecutionFilter(),
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Execution]:
    """Executions the actor may see, newest first (keyset on started_at, id).

    A user sees what they started and everything of their workflows: one branch
    for each, read along its own index (`newest_first_of_any`), so a page costs
    the same with ten executions or millions."""
    check_filter(filters)
    query = _filtered(select(Execution), filters)
    if actor.is_admin:
        return await newest_first(
            session,
            query,
            created_at=Execution.started_at,
            row_id=Execution.id,
            limit=limit,
            cursor=cursor,
        )
    own = set(
        (await session.execute(select(Workflow.id).where(Workflow.user_id == actor.user_id)))
        .scalars()
        .all()
    )
    if filters.workflow_id is not None:
        # One workflow: all of it if it is yours, else only the runs you started.
        scoped = filters.workflow_id in own
        branches = [query if scoped else query.where(Execution.user_id == actor.user_id)]
    else:
        branches = [query.where(Execution.user_id == actor.user_id)]
        branches += [query.where(Execution.workflow_id == w) for w in sorted(own)]
    return await newest_first_of_any(
        session,
        branches,
        created_at=Execution.started_at,
        row_id=Execution.id,
        limit=limit,
        cursor=cursor,
    )


def _filtered(query: Select[Any], filters: ExecutionFilter) -> Select[Any]:
    if filters.workflow_id is not None:
        query = query.where(Execution.workflow_id == filters.workflow_id)
    if filters.status is not None:
        query = query.where(Execution.status == filters.status.value)
    if filters.since is not None:
        query = query.where(Execution.started_at >= filters.since)
    if filters.until is not None:
        query = query.where(Execution.started_at < filters.until)
    return query


async def get_execution_for_webhook(
    session: AsyncSession, api_key: str, execution_id: uuid.UUID
) -> Execution:
    """An execution started by the webhook whose API key this is; else `NotFound`."""
    webhook = await webhook_for_key(session, api_key)
    execution = await session.get(Execution, execution_id)
    trigger = (execution.trigger or {}) if execution is not None else {}
    if webhook is None or execution is None or trigger.get("webhook_id") != str(webhook.id):
        raise errors.NotFound(f"execution {execution_id} not found")
    return execution


async def execution_detail(
    session: AsyncSession, execution: Execution, *, node_runs: int
) -> ExecutionDetail:
    """`execution` with its first `node_runs` attempts in start order and its totals."""
    return ExecutionDetail(
        execution=execution,
        node_runs=await node_runs_page(session, execution.id, limit=node_runs),
        totals=await run_totals(session, execution.id),
    )


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """How many executions are in each status (every status present, zeros included)."""
    rows = await session.execute(select(Execution.status, func.count()).group_by(Execution.status))
    counts = {status.value: 0 for status in ExecutionStatus}
    for status, count in rows.all():
        counts[str(status)] = int(count)
    return counts
