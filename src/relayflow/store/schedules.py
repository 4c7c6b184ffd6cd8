"""Cron schedules of workflows: management by their owners, and the scheduler's claims.

Only the workflow's owner (or an admin) sees and changes its schedules: their
inputs are the owner's data even when the workflow itself is public.

`next_run_at` doubles as the claim token: the scheduler moves it forward with
`UPDATE ... WHERE next_run_at = <the value it read>`, so however many schedulers
look at a due schedule, exactly one of them starts its run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.cron import CronSchedule
from relayflow.domain import Actor, utcnow
from relayflow.input_schema import check_input, input_schema_of
from relayflow.store.models import Schedule, Workflow
from relayflow.store.versions import never_published, version_to_run
from relayflow.store.workflows import get_workflow_to_change

MAX_SCHEDULES_PER_WORKFLOW = 50


class MissedPolicy(StrEnum):
    SKIP = "skip"  # ticks missed during downtime are dropped
    RUN_ONCE = "run_once"  # one run makes up for all the ticks missed


NOT_YOURS = "only the workflow's owner can manage its schedules"


async def owned_workflow(session: AsyncSession, actor: Actor, workflow_id: uuid.UUID) -> Workflow:
    """The workflow if `actor` may change it; NotFound or Forbidden (public) otherwise."""
    return await get_workflow_to_change(session, actor, workflow_id, refusal=NOT_YOURS)


async def list_schedules(
    session: AsyncSession, actor: Actor, workflow_id: uuid.UUID
) -> list[Schedule]:
    await owned_workflow(session, actor, workflow_id)
    rows = await session.scalars(
        select(Schedule)
        .where(Schedule.workflow_id == workflow_id)
        .order_by(Schedule.created_at, Schedule.id)
    )
    return list(rows)


async def get_schedule(
    session: AsyncSession, actor: Actor, workflow_id: uuid.UUID, schedule_id: uuid.UUID
) -> Schedule:
    await owned_workflow(session, actor, workflow_id)
    return await _schedule_of(session, workflow_id, schedule_id)


async def _schedule_of(
    session: AsyncSession, workflow_id: uuid.UUID, schedule_id: uuid.UUID
) -> Schedule:
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None or schedule.workflow_id != workflow_id:
        raise errors.NotFound(f"schedule {schedule_id} not found")
    return schedule


async def create_schedule(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    *,
    cron: str,
    timezone: str = "UTC",
    input: Any = None,
    enabled: bool = True,
    missed_policy: MissedPolicy = MissedPolicy.SKIP,
    name: str | None = None,
    now: dt.datetime | None = None,
) -> Schedule:
    workflow = await owned_workflow(session, actor, workflow_id)
    if workflow.published_version is None:
        raise never_published(workflow_id)
    parsed = CronSchedule.parse(cron, timezone)
    await _check_input(session, workflow, input)
    count = await session.scalar(
        select(func.count()).select_from(Schedule).where(Schedule.workflow_id == workflow_id)
    )
    if (count or 0) >= MAX_SCHEDULES_PER_WORKFLOW:
        raise errors.Conflict(f"a workflow may have at most {MAX_SCHEDULES_PER_WORKFLOW} schedules")
    now = now or utcnow()
    schedule = Schedule(
        workflow_id=workflow_id,
        name=name,
        cron=parsed.expression,
        timezone=parsed.timezone,
        input=input,
        enabled=enabled,
        missed_policy=MissedPolicy(missed_policy).value,
        next_run_at=parsed.next_after(now),
        created_at=now,
        updated_at=now,
    )
    session.add(schedule)
    await session.flush()
    return schedule


async def _check_input(session: AsyncSession, workflow: Workflow, input: Any) -> None:
    """A schedule's input must fit the published version's input schema (what its runs
    start), so a bad input is a 422 now rather than a failed run at every tick."""
    if workflow.published_version is None:
        return
    published = await version_to_run(session, workflow.id, workflow.published_version)
    schema = input_schema_of(published.graph.get("nodes"))
    if schema is not None:
        check_input(schema, input)


UPDATABLE = frozenset({"name", "cron", "timezone", "input", "enabled", "missed_policy"})


async def update_schedule(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    schedule_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    now: dt.datetime | None = None,
) -> Schedule:
    """Apply `changes` (a subset of UPDATABLE); a new timing restarts from now."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise errors.InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    workflow = await owned_workflow(session, actor, workflow_id)
    schedule = await _schedule_of(session, workflow_id, schedule_id)
    now = now or utcnow()
    parsed = CronSchedule.parse(
        changes.get("cron", schedule.cron), changes.get("timezone", schedule.timezone)
    )
    retimed = (
        parsed.expression != schedule.cron
        or parsed.timezone != schedule.timezone
        or (changes.get("enabled") is True and not schedule.enabled)
    )
    if "input" in changes:
        await _check_input(session, workflow, changes["input"])
    for name in ("name", "input", "enabled"):
        if name in changes:
            setattr(schedule, name, changes[name])
    if "missed_policy" in changes:
        schedule.missed_policy = MissedPolicy(changes["missed_policy"]).value
    schedule.cron, schedule.timezone = parsed.expression, parsed.timezone
    if retimed:
        # Ticks that fell while a schedule was off (or under another timing) are
        # not "missed": they were never due.
        schedule.next_run_at = parsed.next_after(now)
    schedule.updated_at = now
    await session.flush()
    return schedule


async def delete_schedule(
    session: AsyncSession, actor: Actor, workflow_id: uuid.UUID, schedule_id: uuid.UUID
) -> None:
    schedule = await get_schedule(session, actor, workflow_id, schedule_id)
    await session.delete(schedule)
    await session.flush()


# ----------------------------------------------------------------- the scheduler's side
async def due_schedules(
    session: AsyncSession, *, now: dt.datetime, limit: int = 100
) -> list[Schedule]:
    rows = await session.scalars(
        select(Schedule)
        .where(Schedule.enabled.is_(True), Schedule.next_run_at <= now)
        .order_by(Schedule.next_run_at)
        .limit(limit)
    )
    return list(rows)


async def claim_tick(
    session: AsyncSession,
    schedule_id: uuid.UUID,
    *,
    seen_next_run_at: dt.datetime,
    next_run_at: dt.datetime,
    ran_at: dt.datetime | None,
) -> bool:
    """Move a due schedule to its next fire time; True for the one caller that did."""
    values: dict[str, Any] = {"next_run_at": next_run_at}
    if ran_at is not None:
        values["last_run_at"] = ran_at
    result = await session.execute(
        update(Schedule)
        .where(
            Schedule.id == schedule_id,
            Schedule.enabled.is_(True),
            Schedule.next_run_at == seen_next_run_at,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def record_scheduled_execution(
    session: AsyncSession, schedule_id: uuid.UUID, execution_id: uuid.UUID
) -> None:
    await session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id)
        .values(last_execution_id=execution_id)
        .execution_options(synchronize_session=False)
    )
