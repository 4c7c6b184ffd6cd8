"""Workflow versions: list, read, publish, restore, and diff two of them.

Readers of a workflow (its owner, admins, everyone for a public one) see its
versions; only its owner or an admin publishes or restores. Another user's
private workflow answers 404 like an unknown one.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep
from relayflow.api.errors import errors_for
from relayflow.api.pagination import PageDep
from relayflow.api.schemas.versions import (
    PublishRequest,
    VersionDetailOut,
    VersionDiffOut,
    VersionListOut,
    VersionOut,
)
from relayflow.domain import TokenScope
from relayflow.graph_diff import diff_graphs
from relayflow.store import versions

router = APIRouter(
    prefix="/api/v1/workflows/{workflow_id:uuid}",
    tags=["workflow versions"],
    route_class=CheckedRoute,
)
Number = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version number.")]
NOT_OWNER = {403: "A public workflow of another user: readable, not changeable"}
NO_VERSION = {404: "No such workflow (or not readable by you), or no such version"}


@router.get("/versions", responses=errors_for(401, 404, 422))
async def list_versions(
    workflow_id: uuid.UUID, session: SessionDep, actor: CurrentActor, page: PageDep
) -> VersionListOut:
    """Newest first, with which one is the draft and which is published."""
    found = await versions.list_versions(
        session, actor, workflow_id, limit=page.limit, cursor=page.cursor
    )
    return VersionListOut(
        items=[VersionOut.of(v, found.workflow) for v in found.versions],
        next_cursor=found.next_cursor,
        draft_version=found.workflow.draft_version,
        published_version=found.workflow.published_version,
    )


@router.get("/versions/{number}", responses=errors_for(401, 404, 422, notes=NO_VERSION))
async def get_version(
    workflow_id: uuid.UUID, number: Number, session: SessionDep, actor: CurrentActor
) -> VersionDetailOut:
    workflow, version = await versions.get_version(session, actor, workflow_id, number)
    return VersionDetailOut.detail(version, workflow)


@router.post(
    "/publish",
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    responses=errors_for(401, 403, 404, 422, notes={**NOT_OWNER, **NO_VERSION}),
)
async def publish(
    workflow_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    body: PublishRequest | None = None,
) -> VersionOut:
    """Make the draft (or the `version` given) the one webhooks and schedules run."""
    body = body or PublishRequest()
    workflow, version = await versions.publish(
        session, actor, workflow_id, number=body.version, message=body.message
    )
    return VersionOut.of(version, workflow)


@router.post(
    "/versions/{number}/restore",
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    status_code=201,
    responses=errors_for(401, 403, 404, 422, notes={**NOT_OWNER, **NO_VERSION}),
)
async def restore(
    workflow_id: uuid.UUID,
    number: Number,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
) -> VersionDetailOut:
    """Make an old version the draft again: its graph is saved as a new version."""
    workflow, version = await versions.restore(
        session, actor, workflow_id, number, keep_unpublished=settings.versions_keep_unpublished
    )
    return VersionDetailOut.detail(version, workflow)


@router.get("/versions/{a}/diff/{b}", responses=errors_for(401, 404, 422, notes=NO_VERSION))
async def diff_versions(
    workflow_id: uuid.UUID, a: Number, b: Number, session: SessionDep, actor: CurrentActor
) -> VersionDiffOut:
    """What changed from version `a` to version `b`: nodes added, removed, changed (each
    changed field with its old and new value) or moved; edges added and removed."""
    _, old = await versions.get_version(session, actor, workflow_id, a)
    _, new = await versions.get_version(session, actor, workflow_id, b)
    return VersionDiffOut.of(a, b, diff_graphs(old.graph, new.graph))
