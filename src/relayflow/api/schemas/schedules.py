"""Schedules: cron expressions that start a workflow, with the times they will fire."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from relayflow.api.schemas.common import UtcDateTime, not_null
from relayflow.cron import CronSchedule
from relayflow.cron_words import describe
from relayflow.domain import utcnow
from relayflow.store.models import Schedule
from relayflow.store.schedules import MissedPolicy

UPCOMING = 5

Cron = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="Five fields (minute hour day month weekday) or @hourly, @daily, ...",
        examples=["0 9 * * 1-5"],
    ),
]
TimeZone = Annotated[
    str, Field(min_length=1, max_length=64, description="IANA time zone the cron reads in.")
]
Policy = Annotated[
    MissedPolicy,
    Field(description="Ticks missed during downtime: `skip` them, or `run_once` for all."),
]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    name: Annotated[str, Field(max_length=255)] | None = None
    cron: Cron
    timezone: TimeZone = "UTC"
    input: Any = Field(None, description="The input of every run this schedule starts.")
    enabled: StrictBool = True
    missed_policy: Policy = MissedPolicy.SKIP


class SchedulePatch(BaseModel):
    """Only the fields given change; a new cron, time zone or re-enabling restarts from now."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=255)] | None = None
    cron: Cron | None = None
    timezone: TimeZone | None = None
    input: Any = None
    enabled: StrictBool | None = None
    missed_policy: Policy | None = None

    _not_null = field_validator("cron", "timezone", "enabled", "missed_policy", mode="before")(
        not_null
    )


class ScheduleOut(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID
    name: str | None
    cron: str
    timezone: str
    description: str = Field(
        description="The cron in plain words with its time zone, e.g. `every weekday at "
        "09:00, Europe/Paris`; `custom schedule, <zone>` for shapes it does not phrase."
    )
    input: Any
    enabled: bool
    missed_policy: MissedPolicy
    next_run_at: UtcDateTime | None = Field(description="The next tick; null if disabled.")
    next_runs: list[UtcDateTime] = Field(
        description=f"The next {UPCOMING} ticks (read in the schedule's time zone, served in "
        "UTC like every timestamp); empty if disabled."
    )
    last_run_at: UtcDateTime | None
    last_execution_id: uuid.UUID | None
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, schedule: Schedule, *, now: dt.datetime | None = None) -> ScheduleOut:
        upcoming: list[dt.datetime] = []
        if schedule.enabled:
            cron = CronSchedule(schedule.cron, schedule.timezone)
            # From next_run_at itself (it may be a moment in the past, not yet started).
            start = (schedule.next_run_at or now or utcnow()) - dt.timedelta(microseconds=1)
            upcoming = cron.upcoming(start, UPCOMING)
        return cls(
            id=schedule.id,
            workflow_id=schedule.workflow_id,
            name=schedule.name,
            cron=schedule.cron,
            timezone=schedule.timezone,
            description=describe(schedule.cron, schedule.timezone),
            input=schedule.input,
            enabled=schedule.enabled,
            missed_policy=MissedPolicy(schedule.missed_policy),
            next_run_at=schedule.next_run_at if schedule.enabled else None,
            next_runs=upcoming,
            last_run_at=schedule.last_run_at,
            last_execution_id=schedule.last_execution_id,
            created_at=schedule.created_at or utcnow(),
            updated_at=schedule.updated_at or utcnow(),
        )
