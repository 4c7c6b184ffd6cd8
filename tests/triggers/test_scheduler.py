"""The scheduler: due ticks start exactly once, missed ticks follow their policy.

A fake clock stands in for time: tests move it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import select as select_module
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from relayflow.config import Settings
from relayflow.cron import CronSchedule
from relayflow.runtime.scheduler import Scheduler, plan_tick
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.login_failures import LoginThrottle, reserve_attempt, subject
from relayflow.store.rate_limits import count_request
from relayflow.store.schedules import MissedPolicy, create_schedule, update_schedule
from relayflow.store.seen_signatures import first_use_of_signature
from tests.triggers.conftest import Hook, Owner, transform_graph

T0 = dt.datetime(2026, 5, 4, 8, 0, 30)  # a Monday, 08:00:30 UTC
MINUTE = dt.timedelta(minutes=1)


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


# ----------------------------------------------------------------- planning (pure)
EVERY_MINUTE = CronSchedule.parse("* * * * *")
HOURLY = CronSchedule.parse("0 * * * *")


def test_a_tick_on_time_runs_once() -> None:
    due = dt.datetime(2026, 5, 4, 9, 0)
    plan = plan_tick(
        HOURLY, due, due + dt.timedelta(seconds=2), policy=MissedPolicy.SKIP, misfire_grace_s=60
    )
    assert plan.runs == [due]
    assert plan.missed == 0
    assert plan.next_run_at == dt.datetime(2026, 5, 4, 10, 0)


def test_ticks_missed_during_downtime_are_skipped() -> None:
    due = dt.datetime(2026, 5, 4, 9, 0)
    back = dt.datetime(2026, 5, 4, 12, 30)  # down from before 9:00 to 12:30
    plan = plan_tick(HOURLY, due, back, policy=MissedPolicy.SKIP, misfire_grace_s=60)
    assert plan.runs == []
    assert plan.missed == 4  # 9, 10, 11, 12 o'clock
    assert plan.next_run_at == dt.datetime(2026, 5, 4, 13, 0)


def test_ticks_missed_during_downtime_run_once_with_run_once() -> None:
    due = dt.datetime(2026, 5, 4, 9, 0)
    back = dt.datetime(2026, 5, 4, 12, 30)
    plan = plan_tick(HOURLY, due, back, policy=MissedPolicy.RUN_ONCE, misfire_grace_s=60)
    assert plan.runs == [dt.datetime(2026, 5, 4, 12, 0)]
    assert plan.missed == 4


def test_a_tick_on_time_covers_the_missed_ones_under_run_once() -> None:
    due = dt.datetime(2026, 5, 4, 9, 0)
    back = dt.datetime(2026, 5, 4, 12, 0, 5)
    plan = plan_tick(HOURLY, due, back, policy=MissedPolicy.RUN_ONCE, misfire_grace_s=60)
    assert plan.runs == [dt.datetime(2026, 5, 4, 12, 0)]
    assert plan.missed == 3


def test_every_tick_within_the_grace_runs() -> None:
    due = dt.datetime(2026, 5, 4, 9, 0)
    plan = plan_tick(
        EVERY_MINUTE,
        due,
        due + dt.timedelta(minutes=2, seconds=1),
        policy=MissedPolicy.SKIP,
        misfire_grace_s=300,
    )
    assert plan.runs == [due, due + MINUTE, due + 2 * MINUTE]
    assert plan.missed == 0


def test_a_very_long_outage_is_counted_without_walking_every_tick() -> None:
    due = dt.datetime(2026, 1, 1)
    back = dt.datetime(2026, 5, 4, 9, 0, 10)
    plan = plan_tick(EVERY_MINUTE, due, back, policy=MissedPolicy.SKIP, misfire_grace_s=60)
    assert plan.runs == [dt.datetime(2026, 5, 4, 9, 0)]
    assert plan.missed >= 999
    assert plan.next_run_at == dt.datetime(2026, 5, 4, 9, 1)


# ----------------------------------------------------------------- against the database
async def make_schedule(
    db: Database, owner: Owner, *, cron: str = "* * * * *", now: dt.datetime = T0, **extra: Any
) -> models.Schedule:
    graph = transform_graph()
    async with db.transaction() as session:
        workflow = models.Workflow(
            user_id=owner.id, name="scheduled", nodes=graph["nodes"], edges=graph["edges"]
        )
        session.add(workflow)
        await session.flush()
        return await create_schedule(
            session, owner.actor, workflow.id, cron=cron, input={"hello": "world"}, now=now, **extra
        )


async def scheduled_executions(db: Database) -> list[models.Execution]:
    async with db.session() as session:
        rows = await session.scalars(select(models.Execution).order_by(models.Execution.started_at))
        return [e for e in rows if (e.trigger or {}).get("type") == "schedule"]


async def reload(db: Database, schedule_id: uuid.UUID) -> models.Schedule:
    async with db.session() as session:
        schedule = await session.get(models.Schedule, schedule_id)
        assert schedule is not None
        return schedule


async def test_a_due_schedule_starts_one_execution_per_tick(db: Database, owner: Owner) -> None:
    schedule = await make_schedule(db, owner)
    assert schedule.next_run_at == dt.datetime(2026, 5, 4, 8, 1)
    clock = FakeClock(T0)
    scheduler = Scheduler(db, clock=clock)

    assert await scheduler.tick() == []  # not due yet
    clock.now = dt.datetime(2026, 5, 4, 8, 1, 2)
    [first] = await scheduler.tick()
    assert await scheduler.tick() == []  # the same tick never runs twice
    clock.advance(MINUTE)
    [second] = await scheduler.tick()

    executions = await scheduled_executions(db)
    assert [e.id for e in executions] == [first, second]
    assert executions[0].input == {"hello": "world"}
    assert executions[0].user_id == owner.id
    assert executions[0].trigger is not None
    assert executions[0].trigger["schedule_id"] == str(schedule.id)
    assert executions[0].trigger["scheduled_for"] == "2026-05-04T08:01:00"
    stored = await reload(db, schedule.id)
    assert stored.next_run_at == dt.datetime(2026, 5, 4, 8, 3)
    assert stored.last_execution_id == second


async def test_disabled_schedules_do_not_run_and_restart_from_now(
    db: Database, owner: Owner
) -> None:
    schedule = await make_schedule(db, owner, enabled=False)
    clock = FakeClock(T0 + 10 * MINUTE)
    assert await Scheduler(db, clock=clock).tick() == []
    async with db.transaction() as session:
        enabled = await update_schedule(
            session,
            owner.actor,
            schedule.workflow_id,
            schedule.id,
            {"enabled": True},
            now=clock.now,
        )
    # The ticks that fell while it was off are not "missed": it restarts from now.
    assert enabled.next_run_at == dt.datetime(2026, 5, 4, 8, 11)


@pytest.mark.parametrize(
    ("policy", "expected_runs"), [(MissedPolicy.SKIP, 0), (MissedPolicy.RUN_ONCE, 1)]
)
async def test_missed_ticks_after_downtime_follow_the_policy(
    db: Database, owner: Owner, policy: MissedPolicy, expected_runs: int
) -> None:
    schedule = await make_schedule(db, owner, cron="0 * * * *", missed_policy=policy)
    # Down from 08:00:30 until 11:30: the 09, 10 and 11 o'clock ticks were missed.
    clock = FakeClock(dt.datetime(2026, 5, 4, 11, 30))
    started = await Scheduler(db, clock=clock).tick()
    assert len(started) == expected_runs
    for execution in await scheduled_executions(db):
        assert execution.trigger is not None
        assert execution.trigger["missed_ticks"] == 3
    assert (await reload(db, schedule.id)).next_run_at == dt.datetime(2026, 5, 4, 12, 0)


async def test_two_schedulers_start_each_tick_once(
    db: Database, owner: Owner, settings: Settings
) -> None:
    schedules = [await make_schedule(db, owner) for _ in range(5)]
    other_db = Database(settings.resolved_database_url)
    clock = FakeClock(T0)
    # Both act as if they led (no lock taken): the claim alone must keep ticks single.
    first, second = Scheduler(db, clock=clock), Scheduler(other_db, clock=clock)
    try:
        for _ in range(4):
            clock.advance(MINUTE)
            await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
    finally:
        await other_db.dispose()

    executions = await scheduled_executions(db)
    ticks = [
        (e.trigger or {})["schedule_id"] + (e.trigger or {})["scheduled_for"] for e in executions
    ]
    assert len(ticks) == len(set(ticks)) == 5 * 4
    assert {(e.trigger or {})["schedule_id"] for e in executions} == {str(s.id) for s in schedules}


@pytest.mark.postgres_only
async def test_one_scheduler_leads_at_a_time(db: Database, settings: Settings) -> None:
    other_db = Database(settings.resolved_database_url)
    first, second = Scheduler(db), Scheduler(other_db)
    try:
        assert await first.try_lead()
        assert await first.try_lead()  # still leading
        assert not await second.try_lead()
        await first.resign()
        assert await second.try_lead()
        assert not await first.try_lead()
    finally:
        await first.resign()
        await second.resign()
        await other_db.dispose()


@pytest.fixture
async def running_scheduler(db: Database) -> AsyncIterator[tuple[Scheduler, FakeClock]]:
    clock = FakeClock(T0)
    scheduler = Scheduler(db, clock=clock, poll_s=0.01)
    await scheduler.start()
    yield scheduler, clock
    await scheduler.stop()


async def test_the_service_loop_starts_due_runs(
    db: Database, owner: Owner, running_scheduler: tuple[Scheduler, FakeClock]
) -> None:
    _, clock = running_scheduler
    await make_schedule(db, owner)
    clock.now = dt.datetime(2026, 5, 4, 8, 1, 1)
    for _ in range(500):
        if await scheduled_executions(db):
            break
        await asyncio.sleep(0.01)
    assert len(await scheduled_executions(db)) == 1


@pytest.mark.slow
@pytest.mark.postgres_only
async def test_two_scheduler_processes_run_each_tick_once_through_a_leader_crash(
    db: Database, owner: Owner, settings: Settings
) -> None:
    # One real second is one virtual minute: an every-minute schedule ticks each second.
    speed, base_epoch = 60.0, time.time()

    def virtual_now() -> dt.datetime:
        return T0 + dt.timedelta(seconds=(time.time() - base_epoch) * speed)

    command = [
        sys.executable,
        "-m",
        "tests.triggers.scheduler_process",
        settings.resolved_database_url,
        T0.isoformat(),
        str(base_epoch),
        str(speed),
    ]
    root = Path(__file__).parents[2]
    procs = [
        subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    try:
        leader = await _first_to_lead(procs)
        schedule = await make_schedule(db, owner, now=virtual_now())
        await _until(lambda n: n >= 3, db)
        leader.kill()  # a crash: no unlock, the connection just drops
        follower = next(p for p in procs if p is not leader)
        assert await _first_to_lead([follower]) is follower
        crashed_at = len(await scheduled_executions(db))
        await _until(lambda n: n >= crashed_at + 3, db)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()

    ticks = sorted(
        dt.datetime.fromisoformat((e.trigger or {})["scheduled_for"])
        for e in await scheduled_executions(db)
    )
    # Every minute from the first tick on, once each: no duplicate, no gap at the takeover.
    first = schedule.next_run_at
    assert first is not None
    assert ticks == [first + i * MINUTE for i in range(len(ticks))]


async def _first_to_lead(procs: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    """The process that prints `leading` first (they need a while to start)."""
    streams = {proc.stdout: proc for proc in procs if proc.stdout is not None}
    for _ in range(600):
        ready, _, _ = select_module.select(list(streams), [], [], 0)
        for stream in ready:
            if stream.readline().strip() == "leading":
                return streams[stream]
        await asyncio.sleep(0.1)
    raise AssertionError("no scheduler process took the lead within a minute")


async def _until(condition: Callable[[int], bool], db: Database) -> None:
    for _ in range(600):
        if condition(len(await scheduled_executions(db))):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the schedule did not tick as expected within a minute")


async def test_housekeeping_drops_expired_rate_limit_windows_and_sign_in_failures(
    db: Database, hook: Hook
) -> None:
    clock = FakeClock(T0)
    await count_request(db, "hook:old", limit=1, now=T0 - dt.timedelta(hours=1))
    await count_request(db, "hook:live", limit=1, now=T0)
    throttle = LoginThrottle(window_s=900)
    for email, when in (("guessed@example.com", 60), ("recent@example.com", 1)):
        await reserve_attempt(
            db, email=email, address=None, throttle=throttle, now=T0 - dt.timedelta(minutes=when)
        )
    for signature, expires in (("sha256=old", -1), ("sha256=live", 1)):
        await first_use_of_signature(
            db,
            webhook_id=hook.id,
            signature=signature,
            expires_at=T0 + dt.timedelta(minutes=expires),
            now=T0 - dt.timedelta(minutes=5),
        )
    await Scheduler(db, clock=clock).housekeeping()
    async with db.session() as session:
        buckets = (await session.scalars(select(models.RateLimitBucket.bucket))).all()
        counters = (await session.scalars(select(models.LoginCounter.subject))).all()
        signatures = (await session.scalars(select(models.SeenSignature.signature))).all()
    assert buckets == ["hook:live"]
    assert counters == [subject("account", "recent@example.com")]
    assert signatures == ["sha256=live"]
