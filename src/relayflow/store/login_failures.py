"""Sign-in throttling: failed sign-ins counted per account and per client address.

Every attempt first reserves its place in both counters, in one atomic upsert
(`failures = failures + 1 ... RETURNING`), before its password is checked; the
counters live in the database, so every API process shares them and no two
attempts read the same count. Past `max_per_account` failures of one email, or
`max_per_address` failures from one client address, within the window, an
attempt is refused (429 with Retry-After until the window ends) without its
password being checked, however many arrive at once. A success resets its
account's counter and gives its reservation back to the address.

Counted per submitted email whether or not an account exists, so the answers
say nothing about which emails are registered. Below the hard limits, attempts
after `free_attempts` failures also wait an exponentially growing delay (capped).
Subjects are stored hashed: the table keeps no email or address in clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import case, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.config import Settings
from relayflow.store.db import Database
from relayflow.store.models import LoginCounter
from relayflow.store.upsert import upsert_insert

BASE_DELAY_S = 0.5
ACCOUNT_SETTING = "RELAYFLOW_LOGIN_MAX_FAILURES_PER_ACCOUNT"
ADDRESS_SETTING = "RELAYFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS"


@dataclass(frozen=True)
class LoginThrottle:
    free_attempts: int = 3
    max_delay_s: float = 5.0
    max_per_account: int = 10
    max_per_address: int = 50
    window_s: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            free_attempts=settings.login_failures_before_delay,
            max_delay_s=settings.login_delay_max_s,
            max_per_account=settings.login_max_failures_per_account,
            max_per_address=settings.login_max_failures_per_address,
            window_s=settings.login_failure_window_s,
        )

    def delay_after(self, failures: int) -> float:
        """Seconds an attempt waits after `failures` earlier failures in the window."""
        if failures < self.free_attempts:
            return 0.0
        return min(self.max_delay_s, BASE_DELAY_S * 2.0 ** (failures - self.free_attempts))


def subject(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


@dataclass(frozen=True)
class Reservation:
    """An attempt's place in the counters: its password may now be checked."""

    account: str
    address: str | None
    earlier_failures: int  # of this account, in the window, before this attempt

    def delay_s(self, throttle: LoginThrottle) -> float:
        return throttle.delay_after(self.earlier_failures)


async def _count(
    session: AsyncSession, subjects: list[str], *, now: dt.datetime, window_s: float
) -> dict[str, tuple[int, dt.datetime]]:
    """Add one failure to each subject atomically; (failures, window end) of each."""
    ends = now + dt.timedelta(seconds=window_s)
    insert = upsert_insert(session.get_bind().dialect.name, LoginCounter)
    expired = LoginCounter.window_ends_at <= now
    statement = (
        insert.values([{"subject": s, "failures": 1, "window_ends_at": ends} for s in subjects])
        .on_conflict_do_update(
            index_elements=[LoginCounter.subject],
            set_={
                # A window that has ended starts again at this attempt.
                "failures": case((expired, 1), else_=LoginCounter.failures + 1),
                "window_ends_at": case((expired, ends), else_=LoginCounter.window_ends_at),
            },
        )
        .returning(LoginCounter.subject, LoginCounter.failures, LoginCounter.window_ends_at)
    )
    rows = (await session.execute(statement)).all()
    return {row.subject: (int(row.failures), row.window_ends_at) for row in rows}


def _refusal(limit: int, setting: str, retry_after: float, window_s: float) -> errors.RateLimited:
    seconds = max(1, round(retry_after))
    return errors.RateLimited(
        f"too many failed sign-ins: at most {limit} per {window_s:g} s ({setting}); "
        f"retry in {seconds} s",
        retry_after=retry_after,
        details={"limit": limit, "window_s": window_s, "setting": setting},
    )


async def reserve_attempt(
    db: Database, *, email: str, address: str | None, throttle: LoginThrottle, now: dt.datetime
) -> Reservation:
    """Count this attempt as a failure until it succeeds; `RateLimited` past a limit."""
    account = subject("account", email)
    client = subject("address", address) if address else None
    # Sorted: concurrent attempts lock the same rows in the same order (no deadlock).
    subjects = sorted([account] if client is None else [account, client])
    async with db.transaction() as session:
        counts = await _count(session, subjects, now=now, window_s=throttle.window_s)
    account_failures, account_ends = counts[account]
    if account_failures > throttle.max_per_account:
        retry = (account_ends - now).total_seconds()
        raise _refusal(throttle.max_per_account, ACCOUNT_SETTING, retry, throttle.window_s)
    if client is not None:
        address_failures, address_ends = counts[client]
        if address_failures > throttle.max_per_address:
            retry = (address_ends - now).total_seconds()
            raise _refusal(throttle.max_per_address, ADDRESS_SETTING, retry, throttle.window_s)
    return Reservation(account, client, earlier_failures=account_failures - 1)


async def attempt_succeeded(session: AsyncSession, reservation: Reservation) -> None:
    """The password was right: forget the account's failures, give the address its place back."""
    await session.execute(delete(LoginCounter).where(LoginCounter.subject == reservation.account))
    if reservation.address is not None:
        await session.execute(
            update(LoginCounter)
            .where(LoginCounter.subject == reservation.address, LoginCounter.failures > 0)
            .values(failures=LoginCounter.failures - 1)
        )


async def purge_login_failures(session: AsyncSession, *, now: dt.datetime) -> int:
    """Forget counters whose window has ended (they no longer limit anyone).

    Guessers make one row per email they try, registered or not; without this
    the table would keep one for every email anyone ever typed.
    """
    result = await session.execute(delete(LoginCounter).where(LoginCounter.window_ends_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
