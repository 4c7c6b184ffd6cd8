"""Workflows and who may see or change them.

Owners and admins read and write; public workflows are readable by every
signed-in user and writable by nobody else. An id the actor may not see is
`NotFound`, exactly like an unknown one; a visible workflow the actor may not
change is `Forbidden`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import Actor
from relayflow.store.models import Workflow, WorkflowVersion
from relayflow.store.pagination import DEFAULT_LIMIT, Page, newest_first
from relayflow.store.version_writes import add_draft_version, graph_of

# Checks a graph's nodes and edges; raises `errors.InvalidInput` naming the problem.
GraphCheck = Callable[[Any, Any], Awaitable[None]]

# API field name -> model attribute (`metadata` is reserved on declarative models).
EDITABLE_FIELDS = {
    "name": "name",
    "description": "description",
    "nodes": "nodes",
    "edges": "edges",
    "metadata": "meta",
    "is_public": "is_public",
    "chat_model": "chat_model",
    "mcp_tool": "mcp_tool",
    "retention_days": "retention_days",
    "max_parallel_nodes": "max_parallel_nodes",
}


class WorkflowScope(StrEnum):
    MINE = "mine"
    PUBLIC = "public"
    ALL = "all"  # admins only


def can_read(actor: Actor, workflow: Workflow) -> bool:
    return may_read(actor, workflow.user_id, workflow.is_public)


def may_read(actor: Actor, owner_id: uuid.UUID | None, is_public: bool | None) -> bool:
    return actor.is_admin or owner_id == actor.user_id or bool(is_public)


def can_change(actor: Actor, workflow: Workflow) -> bool:
    return actor.is_admin or workflow.user_id == actor.user_id


def check_parallelism(max_parallel_nodes: int | None, ceiling: int | None) -> None:
    """A workflow may ask for at most the server's ceiling of parallel nodes."""
    if max_parallel_nodes is not None and ceiling is not None and max_parallel_nodes > ceiling:
        raise errors.InvalidInput(
            f"max_parallel_nodes: {max_parallel_nodes} is above this server's ceiling of "
            f"{ceiling} (RELAYFLOW_MAX_PARALLEL_NODES_CEILING)"
        )


async def get_workflow(session: AsyncSession, actor: Actor, workflow_id: uuid.UUID) -> Workflow:
    """A workflow the actor may read."""
    workflow = await session.get(Workflow, workflow_id)
    if workflow is None or not can_read(actor, workflow):
        raise errors.NotFound(f"workflow {workflow_id} not found")
    return workflow


async def get_workflow_to_change(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    *,
    refusal: str = "only its owner can change this public workflow",
) -> Workflow:
    """A workflow the actor may change (its owner or an admin)."""
    workflow = await get_workflow(session, actor, workflow_id)
    if not can_change(actor, workflow):
        raise errors.Forbidden(refusal)
    return workflow


async def list_workflows(
    session: AsyncSession,
    actor: Actor,
    *,
    scope: WorkflowScope = WorkflowScope.MINE,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Workflow]:
    query = select(Workflow)
    if scope is WorkflowScope.MINE:
        query = query.where(Workflow.user_id == actor.user_id)
    elif scope is WorkflowScope.PUBLIC:
        query = query.where(Workflow.is_public == true())
    elif not actor.is_admin:
        raise errors.Forbidden("scope=all lists every user's workflows and is for admins only")
    return await newest_first(
        session,
        query,
        created_at=Workflow.created_at,
        row_id=Workflow.id,
        limit=limit,
        cursor=cursor,
    )


async def create_workflow(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    nodes: list[Any],
    edges: list[Any],
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    is_public: bool = False,
    chat_model: bool = False,
    mcp_tool: bool = False,
    retention_days: int | None = None,
    max_parallel_nodes: int | None = None,
    parallel_ceiling: int | None = None,
    check_graph: GraphCheck | None = None,
    publish: bool = True,
    version_message: str | None = None,
) -> Workflow:
    """A new workflow whose graph is version 1: the draft, and published unless
    `publish` is false (then webhooks and schedules refuse it until it is)."""
    check_parallelism(max_parallel_nodes, parallel_ceiling)
    if check_graph is not None:
        await check_graph(nodes, edges)
    workflow = Workflow(
        user_id=actor.user_id,
        name=name,
        description=description,
        nodes=nodes,
        edges=edges,
        meta=metadata if metadata is not None else {},
        is_public=is_public,
        chat_model=chat_model,
        mcp_tool=mcp_tool,
        retention_days=retention_days,
        max_parallel_nodes=max_parallel_nodes,
        draft_version=1,
        published_version=1,
    )
    session.add(workflow)
    await session.flush()  # writes version 1 too (see models._first_version)
    if not publish:  # after the insert: the column's default would replace a None
        workflow.published_version = None
        await session.flush()
    if version_message is not None:
        first = await session.scalar(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.number == 1
            )
        )
        if first is not None:
            first.message = version_message
            await session.flush()
    await session.refresh(workflow)
    return workflow


async def update_workflow(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    parallel_ceiling: int | None = None,
    check_graph: GraphCheck | None = None,
    version_message: str | None = None,
    keep_unpublished: int | None = None,
) -> Workflow:
    """Apply `changes` (API field names, see EDITABLE_FIELDS) to a workflow the actor owns.

    The graph check sees the graph as it will be, so a change of only `nodes` is
    checked against the stored `edges`. A graph that differs from the draft is
    saved as a new version (the new draft); other fields change in place.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise errors.InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    check_parallelism(changes.get("max_parallel_nodes"), parallel_ceiling)
    workflow = await get_workflow_to_change(session, actor, workflow_id)
    if check_graph is not None and ("nodes" in changes or "edges" in changes):
        await check_graph(
            changes.get("nodes", workflow.nodes), changes.get("edges", workflow.edges)
        )
    graph = graph_of(changes.get("nodes", workflow.nodes), changes.get("edges", workflow.edges))
    for field, value in changes.items():
        if field in ("nodes", "edges"):
            continue
        if field == "metadata" and value is None:
            value = {}
        setattr(workflow, EDITABLE_FIELDS[field], value)
    if graph != graph_of(workflow.nodes, workflow.edges):
        await add_draft_version(
            session,
            workflow,
            graph,
            author_id=actor.user_id,
            message=version_message,
            keep_unpublished=keep_unpublished,
        )
    await session.flush()
    await session.refresh(workflow)
    return workflow


async def delete_workflow(session: AsyncSession, actor: Actor, workflow_id: uuid.UUID) -> None:
    workflow = await get_workflow_to_change(
        session, actor, workflow_id, refusal="only its owner can delete this public workflow"
    )
    await session.delete(workflow)
    await session.flush()


async def offered_workflows(
    session: AsyncSession, actor: Actor, *, chat_model: bool = False, mcp_tool: bool = False
) -> list[Workflow]:
    """The actor's own workflows offered to other programs (as chat models or MCP tools).

    Only the caller's own: another user's workflow never appears, even a public one,
    so a token never widens what an outside client can run by surprise.
    """
    query = select(Workflow).where(Workflow.user_id == actor.user_id)
    if chat_model:
        query = query.where(Workflow.chat_model == true())
    if mcp_tool:
        query = query.where(Workflow.mcp_tool == true())
    return list((await session.scalars(query.order_by(Workflow.created_at, Workflow.id))).all())


async def get_offered_workflow(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    *,
    chat_model: bool = False,
    mcp_tool: bool = False,
) -> Workflow:
    """One of `offered_workflows`; anything else is `NotFound`, like an unknown id."""
    workflow = await session.get(Workflow, workflow_id)
    if (
        workflow is None
        or workflow.user_id != actor.user_id
        or (chat_model and not workflow.chat_model)
        or (mcp_tool and not workflow.mcp_tool)
    ):
        raise errors.NotFound(f"workflow {workflow_id} not found")
    return workflow


async def parallel_limits(
    session: AsyncSession, workflow_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int | None]:
    """Each workflow's own `max_parallel_nodes` (None: the server's default)."""
    ids = list(set(workflow_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(Workflow.id, Workflow.max_parallel_nodes).where(Workflow.id.in_(ids))
    )
    return {workflow_id: limit for workflow_id, limit in rows}
