"""Retention: finished executions past their retention go, with everything that
hangs off them; live ones, recent ones and those tied to live reruns stay.

The scheduler's clock is a fake: tests move time instead of waiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import uuid

import pytest
from sqlalchemy import func, select

from relayflow.config import Settings
from relayflow.domain import utcnow
from relayflow.runtime.retention import Retention, parse_duration
from relayflow.runtime.scheduler import Scheduler
from relayflow.store import models
from relayflow.store.base import Base
from relayflow.store.db import Database
from tests.support.rows import make_user, make_workflow

NOW = dt.datetime(2026, 6, 1, 12, 0)
DAY = dt.timedelta(days=1)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def add_execution(
    db: Database,
    workflow: models.Workflow,
    *,
    status: str = "completed",
    age: dt.timedelta = 40 * DAY,
    now: dt.datetime = NOW,
    rerun_of: uuid.UUID | None = None,
) -> uuid.UUID:
    """An execution started and (when finished) ended `age` ago, with a node run and
    an event, like a real one."""
    execution_id = uuid.uuid4()
    at = now - age
    finished = status in ("completed", "failed", "cancelled")
    async with db.transaction() as session:
        session.add(
            models.Execution(
                id=execution_id,
                workflow_id=workflow.id,
                user_id=workflow.user_id,
                status=status,
                input={},
                started_at=at,
                completed_at=at if finished else None,
                rerun_of=rerun_of,
            )
        )
        await session.flush()
        session.add(models.NodeRun(execution_id=execution_id, node_id="n0", status="completed"))
        session.add(models.ExecutionEvent(execution_id=execution_id, kind="execution.status"))
    return execution_id


async def remaining(db: Database, *ids: uuid.UUID) -> set[uuid.UUID]:
    async with db.session() as session:
        found = await session.scalars(
            select(models.Execution.id).where(models.Execution.id.in_(ids))
        )
        return set(found)


async def count(db: Database, model: type[Base]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def scheduler(settings: Settings, db: Database, **retention: object) -> Scheduler:
    options = {"default_days": 30, "batch_size": 500, **retention}
    return Scheduler(
        db,
        clock=Clock(NOW),
        retention=Retention(db, pause_s=0, **options),  # type: ignore[arg-type]
    )


async def test_the_scheduler_deletes_old_finished_executions_with_their_rows(
    settings: Settings, db: Database
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    old = [
        await add_execution(db, workflow, status=s) for s in ("completed", "failed", "cancelled")
    ]
    recent = await add_execution(db, workflow, age=10 * DAY)
    live = [
        await add_execution(db, workflow, status=s, age=90 * DAY)
        for s in ("pending", "processing", "waiting")
    ]

    deleted = await scheduler(settings, db).apply_retention()

    assert deleted == 3
    assert await remaining(db, *old, recent, *live) == {recent, *live}
    assert await count(db, models.NodeRun) == 4  # the node runs of the kept ones
    assert await count(db, models.ExecutionEvent) == 4


async def test_by_default_every_execution_is_kept(settings: Settings, db: Database) -> None:
    assert settings.retention_days is None
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    ancient = await add_execution(db, workflow, age=3650 * DAY, now=utcnow())

    deleted = await Scheduler.from_settings(settings, db).apply_retention()

    assert deleted == 0
    assert await remaining(db, ancient) == {ancient}


async def test_a_workflow_retention_overrides_the_server_one(
    settings: Settings, db: Database
) -> None:
    user = await make_user(db)
    short, long_kept, inheriting = [await make_workflow(db, user) for _ in range(3)]
    async with db.transaction() as session:
        for workflow, days in ((short, 7), (long_kept, 365)):
            row = await session.get(models.Workflow, workflow.id)
            assert row is not None
            row.retention_days = days
    in_short = await add_execution(db, short, age=8 * DAY)
    in_long = await add_execution(db, long_kept, age=100 * DAY)
    inherited = await add_execution(db, inheriting, age=8 * DAY)
    inherited_old = await add_execution(db, inheriting, age=40 * DAY)

    for server_days, kept in (
        (None, {in_long, inherited, inherited_old}),  # only the override applies
        (30, {in_long, inherited}),
    ):
        await scheduler(settings, db, default_days=server_days).apply_retention()
        assert await remaining(db, in_short, in_long, inherited, inherited_old) == kept


async def test_pruning_goes_in_small_batches_and_resumes_on_the_next_pass(
    settings: Settings, db: Database
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    ids = [await add_execution(db, workflow, age=(40 + i) * DAY) for i in range(5)]
    sched = scheduler(settings, db, batch_size=2, max_batches=2)

    first = await sched.apply_retention()
    assert first == 4  # two batches of two, then it hands the loop back
    assert len(await remaining(db, *ids)) == 1
    assert await sched.apply_retention() == 1  # work was left: the next poll goes on
    assert await remaining(db, *ids) == set()
    assert await sched.apply_retention() == 0  # nothing left: the next pass waits


async def test_executions_tied_to_a_live_rerun_are_kept(settings: Settings, db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    # An old execution whose rerun has not started yet: the rerun copies its node runs.
    source = await add_execution(db, workflow)
    await add_execution(db, workflow, status="pending", age=0 * DAY, rerun_of=source)
    # An old finished rerun of an execution still running.
    running = await add_execution(db, workflow, status="processing", age=50 * DAY)
    rerun_of_running = await add_execution(db, workflow, rerun_of=running)
    # An old rerun of an old execution, both finished: both go.
    done_source = await add_execution(db, workflow, age=60 * DAY)
    done_rerun = await add_execution(db, workflow, rerun_of=done_source)

    await scheduler(settings, db).apply_retention()

    left = await remaining(db, source, rerun_of_running, done_source, done_rerun)
    assert left == {source, rerun_of_running}


async def test_rows_that_name_a_deleted_execution_let_go_of_it(
    settings: Settings, db: Database
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    old = await add_execution(db, workflow)
    newer_rerun = await add_execution(db, workflow, age=DAY, rerun_of=old)
    webhook_id, schedule_id = uuid.uuid4(), uuid.uuid4()
    async with db.transaction() as session:
        session.add(models.Webhook(id=webhook_id, workflow_id=workflow.id, api_key="h" * 64))
        session.add(
            models.Schedule(
                id=schedule_id, workflow_id=workflow.id, cron="* * * * *", last_execution_id=old
            )
        )
        await session.flush()
        session.add(models.IdempotencyKey(webhook_id=webhook_id, key="k", execution_id=old))

    await scheduler(settings, db).apply_retention()

    assert await remaining(db, old, newer_rerun) == {newer_rerun}
    assert await count(db, models.IdempotencyKey) == 0
    async with db.session() as session:
        schedule = await session.get(models.Schedule, schedule_id)
        rerun = await session.get(models.Execution, newer_rerun)
    assert schedule is not None
    assert schedule.last_execution_id is None
    assert rerun is not None
    assert rerun.rerun_of is None


def test_durations() -> None:
    assert parse_duration("30d") == 30 * DAY
    assert parse_duration(" 12h ") == dt.timedelta(hours=12)
    assert parse_duration("2w") == 14 * DAY
    for bad in ("30", "0d", "-1d", "1.5d", "30 days", "d", ""):
        with pytest.raises(ValueError, match=r"e\.g\. 30d"):
            parse_duration(bad)


async def prune_command(settings: Settings, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relayflow.cli",
        "db",
        "prune",
        *args,
        env={
            **os.environ,
            "RELAYFLOW_DATABASE_URL": settings.resolved_database_url,
            "RELAYFLOW_DATA_DIR": str(settings.data_dir),
            "RELAYFLOW_JWT_SECRET": "s" * 40,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_db_prune_deletes_what_is_older_and_says_how_many(
    settings: Settings, db: Database
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    now = utcnow()
    old = [await add_execution(db, workflow, age=(31 + i) * DAY, now=now) for i in range(3)]
    recent = await add_execution(db, workflow, age=29 * DAY, now=now)
    live = await add_execution(db, workflow, status="waiting", age=60 * DAY, now=now)

    code, out, err = await prune_command(settings, "--older-than", "30d", "--batch-size", "2")

    assert (code, err) == (0, "")
    assert "deleted 3 finished execution(s) older than 30d" in out
    assert await remaining(db, *old, recent, live) == {recent, live}


async def test_db_prune_refuses_a_bad_duration(settings: Settings, db: Database) -> None:
    code, _out, err = await prune_command(settings, "--older-than", "30 days")
    assert code == 2
    assert "--older-than: '30 days' is not a duration" in err
    assert "e.g. 30d, 12h, 90m" in err
