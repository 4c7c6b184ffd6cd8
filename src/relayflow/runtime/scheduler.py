"""The scheduler: starts due cron schedules, exactly once per tick.

Two guards, each enough on its own for correctness:
- On PostgreSQL one scheduler leads at a time (a session advisory lock held on
  a dedicated connection); the others wait to take over if the leader dies.
- Every tick is claimed by moving the schedule's `next_run_at` forward with a
  compare-and-set UPDATE in the transaction that creates the execution, so even
  two schedulers that both believe they lead cannot start a tick twice.

Ticks later than `misfire_grace_s` (downtime, a stalled process) are missed and
follow the schedule's policy: `skip` drops them, `run_once` starts one run for
all of them. Time comes from an injectable clock so tests need not wait.

The leader also runs the chores: housekeeping of short-lived rows, and retention
(`runtime.retention`), a bounded number of small delete batches per pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from relayflow.config import Settings
from relayflow.cron import CronSchedule
from relayflow.domain import utcnow
from relayflow.runtime.reconnects import ConnectionWatch
from relayflow.runtime.retention import Retention
from relayflow.store import schedules as schedule_store
from relayflow.store.db import Database
from relayflow.store.executions import create_pending_execution
from relayflow.store.idempotency import purge_idempotency_keys
from relayflow.store.login_failures import purge_login_failures
from relayflow.store.models import Schedule, Workflow
from relayflow.store.rate_limits import purge_rate_limit_buckets
from relayflow.store.schedules import MissedPolicy
from relayflow.store.seen_signatures import purge_seen_signatures
from relayflow.store.versions import published_version

log = logging.getLogger(__name__)

# Arbitrary constant naming the scheduler's advisory lock ("rfsched").
SCHEDULER_LOCK_KEY = 0x7266_7363_6865_64
MAX_COUNTED_TICKS = 1000  # beyond this many missed ticks we stop counting them
MAX_RUNS_PER_PASS = 10  # on-time ticks one schedule may start in one pass
HOUSEKEEPING_EVERY = dt.timedelta(minutes=5)
STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class TickPlan:
    """What to do with a due schedule at `now`."""

    runs: list[dt.datetime]  # the fire time each new execution stands for
    missed: int  # fire times later than the grace (at least this many when capped)
    next_run_at: dt.datetime  # the first fire time after now


def plan_tick(
    cron: CronSchedule,
    due: dt.datetime,
    now: dt.datetime,
    *,
    policy: MissedPolicy,
    misfire_grace_s: float,
) -> TickPlan:
    """Decide a due schedule's fate; pure, so it is tested without a database.

    Every tick within the grace runs (a scheduler that stalled for two minutes
    still starts both minutes' runs); older ones are missed: `skip` drops them,
    `run_once` starts one run for all of them unless a tick on time runs anyway.
    """
    ticks = [due]
    for fire in cron.fire_times(due):
        if fire > now or len(ticks) >= MAX_COUNTED_TICKS:
            break
        ticks.append(fire)
    cutoff = now - dt.timedelta(seconds=misfire_grace_s)
    if len(ticks) >= MAX_COUNTED_TICKS:  # a long outage: only the latest tick may be on time
        latest = cron.latest_at_or_before(now)
        ticks = [*ticks[:-1], latest]
    on_time = [tick for tick in ticks if tick >= cutoff]
    runs = on_time[-MAX_RUNS_PER_PASS:]
    missed = len(ticks) - len(runs)  # late ones, and on-time ones past the per-pass cap
    if not runs and missed and policy is MissedPolicy.RUN_ONCE:
        runs = [ticks[-1]]
    return TickPlan(runs=runs, missed=missed, next_run_at=cron.next_after(now))


class Scheduler:
    """Starts due schedules. A background service (`start`/`stop`); `tick()` does one pass."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        poll_s: float = 1.0,
        misfire_grace_s: float = 60.0,
        idempotency_window_s: float = 24 * 3600.0,
        name: str = "scheduler",
        retention: Retention | None = None,
        retention_every_s: float = 60.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.poll_s = poll_s
        self.misfire_grace_s = misfire_grace_s
        self.idempotency_window_s = idempotency_window_s
        self.name = name
        self._lock_conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_housekeeping: dt.datetime | None = None
        self._watch = ConnectionWatch("scheduler")
        self.retention = retention
        self.retention_every = dt.timedelta(seconds=retention_every_s)
        self._next_retention: dt.datetime | None = None

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> Scheduler:
        return cls(
            db,
            poll_s=settings.scheduler_poll_s,
            misfire_grace_s=settings.schedule_misfire_grace_s,
            idempotency_window_s=settings.webhook_idempotency_window_s,
            retention=Retention.from_settings(settings, db),
            retention_every_s=settings.retention_every_s,
        )

    # ------------------------------------------------------------- leadership
    @property
    def is_leader(self) -> bool:
        return self.db.is_sqlite or self._lock_conn is not None

    async def try_lead(self) -> bool:
        """Become (or stay) the leader. SQLite: always (one machine, claims still guard)."""
        if self.db.is_sqlite:
            return True
        if self._lock_conn is not None:
            try:  # the lock lives as long as this connection: check it is still there
                await self._lock_conn.execute(text("SELECT 1"))
                await self._lock_conn.commit()
                return True
            except (DBAPIError, OSError):
                log.warning("%s: lost the connection holding the scheduler lock", self.name)
                await self._drop_lock_connection(unlock=False)
                return False
        conn = await self.db.engine.connect()
        try:
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
            )
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        if got:
            self._lock_conn = conn
            log.info("%s: leading the schedules", self.name)
            return True
        await conn.close()
        return False

    async def resign(self) -> None:
        await self._drop_lock_connection(unlock=True)

    async def _drop_lock_connection(self, *, unlock: bool) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is None:
            return
        try:
            if unlock:
                await conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK_KEY}
                )
                await conn.commit()
                await conn.close()
                return
        except DBAPIError:
            pass
        # A connection we could not unlock on must not go back to the pool holding the lock
        # (after a server restart it is simply dead: nothing to give back).
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    # ------------------------------------------------------------- one pass
    async def tick(self) -> list[uuid.UUID]:
        """Start every due schedule once; returns the executions created."""
        now = self.clock()
        async with self.db.session() as session:
            due = await schedule_store.due_schedules(session, now=now)
        started: list[uuid.UUID] = []
        for schedule in due:
            try:
                started += await self._fire(schedule, now)
            except Exception:  # one broken schedule must not stop the others
                log.exception("%s: schedule %s failed to start", self.name, schedule.id)
        return started

    async def _fire(self, schedule: Schedule, now: dt.datetime) -> list[uuid.UUID]:
        assert schedule.next_run_at is not None  # due_schedules only returns timed rows
        cron = CronSchedule(schedule.cron, schedule.timezone)
        plan = plan_tick(
            cron,
            schedule.next_run_at,
            now,
            policy=MissedPolicy(schedule.missed_policy),
            misfire_grace_s=self.misfire_grace_s,
        )
        async with self.db.transaction() as session:
            claimed = await schedule_store.claim_tick(
                session,
                schedule.id,
                seen_next_run_at=schedule.next_run_at,
                next_run_at=plan.next_run_at,
                ran_at=now if plan.runs else None,
            )
            if not claimed:
                return []  # another scheduler took this tick
            if plan.missed:
                log.info(
                    "%s: schedule %s missed %d tick(s) (policy %s)",
                    self.name,
                    schedule.id,
                    plan.missed,
                    schedule.missed_policy,
                )
            workflow = await session.get(Workflow, schedule.workflow_id) if plan.runs else None
            if workflow is None:
                return []
            published = await published_version(session, workflow)
            if published is None:  # unpublished since the schedule was made: nothing to run
                log.warning(
                    "%s: schedule %s skipped: workflow %s has no published version",
                    self.name,
                    schedule.id,
                    workflow.id,
                )
                return []
            started: list[uuid.UUID] = []
            for scheduled_for in plan.runs:
                execution = await create_pending_execution(
                    session,
                    workflow=workflow,
                    input=schedule.input,
                    trigger={
                        "type": "schedule",
                        "schedule_id": str(schedule.id),
                        "cron": schedule.cron,
                        "timezone": schedule.timezone,
                        "scheduled_for": scheduled_for.isoformat(),
                        "missed_ticks": plan.missed,
                    },
                    user_id=workflow.user_id,
                    version=published,
                )
                started.append(execution.id)
            await schedule_store.record_scheduled_execution(session, schedule.id, started[-1])
            return started

    async def housekeeping(self) -> None:
        """Drop expired rate-limit windows, idempotency keys, sign-in failure counters and
        seen webhook signatures (the leader's chore)."""
        now = self.clock()
        async with self.db.transaction() as session:
            await purge_rate_limit_buckets(session, before=now - dt.timedelta(minutes=10))
            await purge_login_failures(session, now=now)
            await purge_seen_signatures(session, now=now)
            await purge_idempotency_keys(
                session, before=now - dt.timedelta(seconds=self.idempotency_window_s)
            )
        self._last_housekeeping = now

    async def apply_retention(self) -> int:
        """One retention pass if one is due; how many executions it deleted."""
        now = self.clock()
        if self.retention is None or (self._next_retention and now < self._next_retention):
            return 0
        result = await self.retention.run_pass(now)
        # Work left: the next poll goes on with it; else wait the interval.
        self._next_retention = None if result.more else now + self.retention_every
        return result.deleted

    # ------------------------------------------------------------- service
    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            # Let a pass in progress finish its transaction; cancel only a stuck one.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_GRACE_S)
            self._task = None
        await self.resign()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if await self.try_lead():
                    await self.tick()
                    last = self._last_housekeeping
                    if last is None or self.clock() - last >= HOUSEKEEPING_EVERY:
                        await self.housekeeping()
                    await self.apply_retention()
            except Exception as exc:  # the database may be briefly away; try again next poll
                self._watch.failed(exc)
                log.warning("%s: pass failed: %s", self.name, exc)
            else:
                self._watch.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.poll_s)
