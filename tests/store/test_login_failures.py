"""Sign-in counters per account and per address: atomic, windowed, reset by a success."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from relayflow import errors
from relayflow.store.db import Database
from relayflow.store.login_failures import (
    ACCOUNT_SETTING,
    ADDRESS_SETTING,
    LoginThrottle,
    Reservation,
    attempt_succeeded,
    purge_login_failures,
    reserve_attempt,
)
from relayflow.store.models import LoginCounter

START = dt.datetime(2026, 1, 1, 12, 0, 0)
THROTTLE = LoginThrottle(free_attempts=2, max_per_account=3, max_per_address=5, window_s=60)


def test_delay_starts_after_the_free_attempts_doubles_and_is_capped() -> None:
    throttle = LoginThrottle(free_attempts=3, max_delay_s=5.0)

    delays = [throttle.delay_after(n) for n in range(9)]

    assert delays == [0.0, 0.0, 0.0, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


async def reserve(
    db: Database,
    email: str,
    address: str | None = "198.51.100.7",
    *,
    now: dt.datetime = START,
) -> Reservation:
    return await reserve_attempt(db, email=email, address=address, throttle=THROTTLE, now=now)


async def test_attempts_count_up_and_past_the_account_limit_are_refused(db: Database) -> None:
    reservations = [await reserve(db, "a@example.com") for _ in range(3)]
    with pytest.raises(errors.RateLimited) as caught:
        await reserve(db, "a@example.com", now=START + dt.timedelta(seconds=20))

    assert [r.earlier_failures for r in reservations] == [0, 1, 2]
    assert caught.value.retry_after == 40.0  # until the window that began at START ends
    assert caught.value.details["setting"] == ACCOUNT_SETTING
    # Another email from another address is not affected.
    assert (await reserve(db, "b@example.com", "203.0.113.9")).earlier_failures == 0


async def test_the_address_limit_spans_emails(db: Database) -> None:
    for n in range(5):
        await reserve(db, f"user{n}@example.com")
    with pytest.raises(errors.RateLimited) as caught:
        await reserve(db, "user5@example.com")
    assert caught.value.details["setting"] == ADDRESS_SETTING
    # The same email from elsewhere still gets its turn.
    await reserve(db, "user5@example.com", "203.0.113.9")


async def test_concurrent_attempts_never_share_a_count(db: Database) -> None:
    results = await asyncio.gather(
        *(reserve(db, "a@example.com", None) for _ in range(12)), return_exceptions=True
    )
    allowed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, errors.RateLimited)]

    assert sorted(r.earlier_failures for r in allowed) == [0, 1, 2]
    assert len(refused) == 9


async def test_a_window_that_ended_starts_again(db: Database) -> None:
    for _ in range(3):
        await reserve(db, "a@example.com")
    later = START + dt.timedelta(seconds=61)
    assert (await reserve(db, "a@example.com", now=later)).earlier_failures == 0


async def test_success_clears_the_account_and_returns_the_address_place(db: Database) -> None:
    await reserve(db, "other@example.com")
    await reserve(db, "a@example.com")
    mine = await reserve(db, "a@example.com")
    async with db.transaction() as session:
        await attempt_succeeded(session, mine)

    assert (await reserve(db, "a@example.com")).earlier_failures == 0
    # The address keeps the failures that were not its own success: 3 reserved, 1 back.
    async with db.session() as session:
        counts = sorted((await session.scalars(select(LoginCounter.failures))).all())
    assert counts == [1, 1, 3]


async def test_purge_forgets_ended_windows_only(db: Database) -> None:
    await reserve(db, "old@example.com", now=START)
    await reserve(db, "new@example.com", "203.0.113.9", now=START + dt.timedelta(seconds=50))
    async with db.transaction() as session:
        purged = await purge_login_failures(session, now=START + dt.timedelta(seconds=70))
    async with db.session() as session:
        left = await session.scalar(select(func.count()).select_from(LoginCounter))
    assert purged == 2
    assert left == 2
