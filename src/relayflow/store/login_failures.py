"""Failed sign-ins per email, to slow down password guessing.

Counted per submitted email whether or not an account exists, so the delay says
nothing about which emails are registered. After `free_attempts` failures each
further attempt waits an exponentially growing delay (capped) counted from the
last failure; a success, or `FAILURE_MEMORY` without failures, resets the count.
The counters live in the database so every API process sees the same ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.config import Settings
from relayflow.store.models import LoginFailure

BASE_DELAY_S = 0.5
FAILURE_MEMORY = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class LoginThrottle:
    free_attempts: int = 3
    max_delay_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            free_attempts=settings.login_failures_before_delay,
            max_delay_s=settings.login_delay_max_s,
        )

    def delay_after(self, failures: int) -> float:
        """Seconds an attempt must wait after the last of `failures` recent failures."""
        if failures < self.free_attempts:
            return 0.0
        return min(self.max_delay_s, BASE_DELAY_S * 2.0 ** (failures - self.free_attempts))


@dataclass(frozen=True)
class FailureRecord:
    failures: int
    last_failure_at: dt.datetime | None


async def recent_failures(session: AsyncSession, email: str, *, now: dt.datetime) -> FailureRecord:
    """The email's recent failures (none if never failed or forgotten)."""
    row = await session.get(LoginFailure, email)
    if row is None or row.last_failure_at < now - FAILURE_MEMORY:
        return FailureRecord(failures=0, last_failure_at=None)
    return FailureRecord(failures=row.failures, last_failure_at=row.last_failure_at)


async def wait_before_attempt(
    session: AsyncSession, email: str, throttle: LoginThrottle, *, now: dt.datetime
) -> float:
    """Seconds the next attempt for `email` must still wait (0 when it may go ahead)."""
    record = await recent_failures(session, email, now=now)
    if record.last_failure_at is None:
        return 0.0
    due = record.last_failure_at + dt.timedelta(seconds=throttle.delay_after(record.failures))
    return max(0.0, (due - now).total_seconds())


async def record_failure(session: AsyncSession, email: str, *, now: dt.datetime) -> int:
    """Count one more failure for `email` (atomically); returns the new count."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(LoginFailure).values(email=email, failures=1, last_failure_at=now)
    forgotten = LoginFailure.last_failure_at < now - FAILURE_MEMORY
    statement = statement.on_conflict_do_update(
        index_elements=[LoginFailure.email],
        set_={
            "failures": case((forgotten, 1), else_=LoginFailure.failures + 1),
            "last_failure_at": now,
        },
    )
    await session.execute(statement)
    count = await session.scalar(select(LoginFailure.failures).where(LoginFailure.email == email))
    return int(count or 0)


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.email == email))


async def purge_login_failures(session: AsyncSession, *, now: dt.datetime) -> int:
    """Forget counters past `FAILURE_MEMORY` (they no longer slow anyone down).

    Guessers make one row per email they try, registered or not; without this
    the table would keep every email anyone ever typed.
    """
    result = await session.execute(
        delete(LoginFailure).where(LoginFailure.last_failure_at < now - FAILURE_MEMORY)
    )
    return int(getattr(result, "rowcount", 0) or 0)
