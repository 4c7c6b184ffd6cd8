"""A workflow's cron schedules: `/api/v1/workflows/{id}/schedules`, owner or admin only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep
from relayflow.api.errors import errors_for
from relayflow.api.schemas.common import PageOut
from relayflow.api.schemas.schedules import ScheduleIn, ScheduleOut, SchedulePatch
from relayflow.domain import TokenScope
from relayflow.store import schedules

router = APIRouter(
    prefix="/api/v1/workflows/{workflow_id:uuid}/schedules",
    tags=["schedules"],
    route_class=CheckedRoute,
)
ONE = "/{schedule_id:uuid}"
NOT_OWNER = {403: "Not the workflow's owner (a public workflow is not yours to schedule)"}


@router.get("", responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER))
async def list_schedules(
    workflow_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> PageOut[ScheduleOut]:
    """Every schedule of the workflow (at most 50), oldest first, with their next ticks."""
    found = await schedules.list_schedules(session, actor, workflow_id)
    return PageOut(items=[ScheduleOut.of(s) for s in found], next_cursor=None)


@router.post(
    "",
    openapi_extra=needs(TokenScope.WRITE_SCHEDULES),
    status_code=201,
    responses=errors_for(
        401,
        403,
        404,
        409,
        422,
        notes={
            **NOT_OWNER,
            409: "The workflow has the most schedules allowed, or was never published",
        },
    ),
)
async def create_schedule(
    workflow_id: uuid.UUID, body: ScheduleIn, session: SessionDep, actor: CurrentActor
) -> ScheduleOut:
    schedule = await schedules.create_schedule(
        session,
        actor,
        workflow_id,
        cron=body.cron,
        timezone=body.timezone,
        input=body.input,
        enabled=body.enabled,
        missed_policy=body.missed_policy,
        name=body.name,
    )
    return ScheduleOut.of(schedule)


@router.get(ONE, responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER))
async def get_schedule(
    workflow_id: uuid.UUID, schedule_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> ScheduleOut:
    return ScheduleOut.of(await schedules.get_schedule(session, actor, workflow_id, schedule_id))


@router.patch(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_SCHEDULES),
    responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER),
)
async def change_schedule(
    workflow_id: uuid.UUID,
    schedule_id: uuid.UUID,
    body: SchedulePatch,
    session: SessionDep,
    actor: CurrentActor,
) -> ScheduleOut:
    schedule = await schedules.update_schedule(
        session, actor, workflow_id, schedule_id, body.model_dump(exclude_unset=True)
    )
    return ScheduleOut.of(schedule)


@router.delete(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_SCHEDULES),
    status_code=204,
    responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER),
)
async def delete_schedule(
    workflow_id: uuid.UUID, schedule_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> None:
    await schedules.delete_schedule(session, actor, workflow_id, schedule_id)
