"""Workflow versions: every saved graph kept, one draft, at most one published.

The draft is what the editor saves: the workflow's own `nodes`/`edges`, and
always the newest version (`draft_version`). Saving a different graph writes a
new version; a rename or a metadata change does not. Publishing points
`published_version` at the draft or at an older version; webhooks and schedules
run that one. Restoring copies an old version's graph into a new draft version,
so history is only ever appended to.

Who may do what follows the workflow (`store.workflows`): readers see the
history, only the owner (or an admin) saves, publishes or restores.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import Actor
from relayflow.store.models import Workflow, WorkflowVersion
from relayflow.store.version_writes import add_draft_version, graph_of
from relayflow.store.workflows import get_workflow, get_workflow_to_change

MAX_MESSAGE_LENGTH = 2000


def never_published(workflow_id: uuid.UUID) -> errors.Conflict:
    return errors.Conflict(
        f"workflow {workflow_id} has no published version: publish it first "
        f"(POST /api/v1/workflows/{workflow_id}/publish); webhooks and schedules "
        "run only the published version"
    )


async def _version(session: AsyncSession, workflow_id: uuid.UUID, number: int) -> WorkflowVersion:
    version = await session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.number == number
        )
    )
    if version is None:
        raise errors.NotFound(f"workflow {workflow_id} has no version {number}")
    return version


@dataclass(frozen=True)
class VersionPage:
    workflow: Workflow
    versions: Sequence[WorkflowVersion]
    next_cursor: str | None


async def list_versions(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
) -> VersionPage:
    """Newest first; `cursor` is the number the previous page ended before."""
    workflow = await get_workflow(session, actor, workflow_id)
    query = select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)
    if cursor is not None:
        if not cursor.isdigit():
            raise errors.InvalidInput(
                "cursor: not a cursor this list gave out",
                details=[{"field": "cursor", "message": "invalid cursor"}],
            )
        query = query.where(WorkflowVersion.number < int(cursor))
    rows = list(
        await session.scalars(query.order_by(WorkflowVersion.number.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return VersionPage(workflow, rows, str(rows[-1].number) if more and rows else None)


async def get_version(
    session: AsyncSession, actor: Actor, workflow_id: uuid.UUID, number: int
) -> tuple[Workflow, WorkflowVersion]:
    """A version of a workflow the actor may read."""
    workflow = await get_workflow(session, actor, workflow_id)
    return workflow, await _version(session, workflow_id, number)


async def publish(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    *,
    number: int | None = None,
    message: str | None = None,
) -> tuple[Workflow, WorkflowVersion]:
    """Make version `number` (default: the draft) the one triggers run. A message,
    if given, labels that version (replacing an earlier label)."""
    workflow = await get_workflow_to_change(session, actor, workflow_id)
    version = await _version(session, workflow_id, number or workflow.draft_version or 1)
    workflow.published_version = version.number
    if message is not None:
        version.message = message
    await session.flush()
    return workflow, version


async def restore(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    number: int,
    *,
    keep_unpublished: int | None = None,
) -> tuple[Workflow, WorkflowVersion]:
    """Make an old version's graph the draft again, as a new version."""
    workflow = await get_workflow_to_change(session, actor, workflow_id)
    old = await _version(session, workflow_id, number)
    restored = await add_draft_version(
        session,
        workflow,
        graph_of(old.graph.get("nodes"), old.graph.get("edges")),
        author_id=actor.user_id,
        message=f"Restored from version {old.number}",
        keep_unpublished=keep_unpublished,
    )
    return workflow, restored


async def published_version(session: AsyncSession, workflow: Workflow) -> WorkflowVersion | None:
    """What webhooks and schedules run; None if the workflow was never published."""
    if workflow.published_version is None:
        return None
    return await session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id,
            WorkflowVersion.number == workflow.published_version,
        )
    )


async def version_to_run(
    session: AsyncSession, workflow_id: uuid.UUID, number: int
) -> WorkflowVersion:
    """A version asked for by number, for a run (the caller checked who may run it)."""
    return await _version(session, workflow_id, number)
