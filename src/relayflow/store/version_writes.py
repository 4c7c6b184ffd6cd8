"""Writing a new draft version, and pruning old unpublished ones (see store.versions)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import utcnow
from relayflow.store.models import Workflow, WorkflowVersion


def graph_of(nodes: Any, edges: Any) -> dict[str, Any]:
    return {"nodes": list(nodes or []), "edges": list(edges or [])}


async def _next_number(session: AsyncSession, workflow_id: uuid.UUID) -> int:
    newest = await session.scalar(
        select(func.max(WorkflowVersion.number)).where(WorkflowVersion.workflow_id == workflow_id)
    )
    return int(newest or 0) + 1


async def add_draft_version(
    session: AsyncSession,
    workflow: Workflow,
    graph: dict[str, Any],
    *,
    author_id: uuid.UUID | None,
    message: str | None = None,
    keep_unpublished: int | None = None,
) -> WorkflowVersion:
    """Write `graph` as a new version and make it the draft (the workflow's graph)."""
    # Write the workflow row first: its lock orders concurrent saves of one workflow,
    # so each reads the newest number only after the other committed.
    workflow.updated_at = utcnow()
    await session.flush()
    version = WorkflowVersion(
        workflow_id=workflow.id,
        number=await _next_number(session, workflow.id),
        graph=graph,
        author_id=author_id,
        message=message,
    )
    session.add(version)
    workflow.nodes = graph["nodes"]
    workflow.edges = graph["edges"]
    workflow.draft_version = version.number
    await session.flush()
    if keep_unpublished is not None:
        await prune_unpublished(session, workflow, keep=keep_unpublished)
    return version


async def prune_unpublished(session: AsyncSession, workflow: Workflow, *, keep: int) -> None:
    """Delete all but the newest `keep` versions that are not published (the draft,
    being the newest, is always kept)."""
    keep = max(keep, 1)
    query = select(WorkflowVersion.number).where(WorkflowVersion.workflow_id == workflow.id)
    if workflow.published_version is not None:
        query = query.where(WorkflowVersion.number != workflow.published_version)
    numbers = list(await session.scalars(query.order_by(WorkflowVersion.number.desc())))
    old = numbers[keep:]
    if old:
        await session.execute(
            delete(WorkflowVersion).where(
                WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.number.in_(old)
            )
        )
