"""Workflows: create, list, read, replace, change and delete.

A save whose graph differs from the draft writes a new version (api/routes/versions.py).
"""

from __future__ import annotations

import uuid
from functools import partial

from fastapi import APIRouter

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep
from relayflow.api.errors import errors_for
from relayflow.api.graph_check import check_graph_for
from relayflow.api.pagination import PageDep
from relayflow.api.schemas.common import PageOut
from relayflow.api.schemas.workflows import WorkflowIn, WorkflowOut, WorkflowPatch
from relayflow.domain import TokenScope
from relayflow.store import workflows
from relayflow.store.workflows import WorkflowScope

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"], route_class=CheckedRoute)
# Typed as a UUID in the path: `/workflows/validate` is then never taken for an id.
ONE = "/{workflow_id:uuid}"
NOT_OWNER = {403: "A public workflow of another user: readable, not writable"}


@router.post(
    "",
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    status_code=201,
    responses=errors_for(401, 404, 422, notes={404: "A credential the graph names is not yours"}),
)
async def create_workflow(
    body: WorkflowIn, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> WorkflowOut:
    workflow = await workflows.create_workflow(
        session,
        actor,
        name=body.name,
        description=body.description,
        nodes=body.nodes,
        edges=body.edges,
        metadata=body.metadata,
        is_public=body.is_public,
        chat_model=body.chat_model,
        mcp_tool=body.mcp_tool,
        retention_days=body.retention_days,
        max_parallel_nodes=body.max_parallel_nodes,
        parallel_ceiling=settings.max_parallel_nodes_ceiling,
        check_graph=partial(check_graph_for, session, actor, settings),
        publish=body.publish,
        version_message=body.version_message,
    )
    return WorkflowOut.of(workflow, actor)


@router.get("", responses=errors_for(401, 403, 422, notes={403: "`scope=all` is for admins"}))
async def list_workflows(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    scope: WorkflowScope = WorkflowScope.MINE,
) -> PageOut[WorkflowOut]:
    """Newest first. `scope`: `mine` (default), `public`, or `all` (admins)."""
    found = await workflows.list_workflows(
        session, actor, scope=scope, limit=page.limit, cursor=page.cursor
    )
    return PageOut(
        items=[WorkflowOut.of(w, actor) for w in found.items], next_cursor=found.next_cursor
    )


@router.get(ONE, responses=errors_for(401, 404, 422))
async def get_workflow(
    workflow_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> WorkflowOut:
    return WorkflowOut.of(await workflows.get_workflow(session, actor, workflow_id), actor)


@router.put(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER),
)
async def replace_workflow(
    workflow_id: uuid.UUID,
    body: WorkflowIn,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
) -> WorkflowOut:
    workflow = await workflows.update_workflow(
        session,
        actor,
        workflow_id,
        body.model_dump(exclude={"publish", "version_message"}),
        parallel_ceiling=settings.max_parallel_nodes_ceiling,
        check_graph=partial(check_graph_for, session, actor, settings),
        version_message=body.version_message,
        keep_unpublished=settings.versions_keep_unpublished,
    )
    return WorkflowOut.of(workflow, actor)


@router.patch(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER),
)
async def change_workflow(
    workflow_id: uuid.UUID,
    body: WorkflowPatch,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
) -> WorkflowOut:
    workflow = await workflows.update_workflow(
        session,
        actor,
        workflow_id,
        body.model_dump(exclude_unset=True, exclude={"version_message"}),
        parallel_ceiling=settings.max_parallel_nodes_ceiling,
        check_graph=partial(check_graph_for, session, actor, settings),
        version_message=body.version_message,
        keep_unpublished=settings.versions_keep_unpublished,
    )
    return WorkflowOut.of(workflow, actor)


@router.delete(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    status_code=204,
    responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER),
)
async def delete_workflow(workflow_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> None:
    await workflows.delete_workflow(session, actor, workflow_id)
