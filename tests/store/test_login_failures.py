"""The delay that slows down repeated failed sign-ins."""

from __future__ import annotations

import datetime as dt

from relayflow.store.db import Database
from relayflow.store.login_failures import (
    FAILURE_MEMORY,
    LoginThrottle,
    record_failure,
    wait_before_attempt,
)


def test_delay_starts_after_the_free_attempts_doubles_and_is_capped() -> None:
    throttle = LoginThrottle(free_attempts=3, max_delay_s=5.0)

    delays = [throttle.delay_after(n) for n in range(9)]

    assert delays == [0.0, 0.0, 0.0, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


async def test_failures_count_up_and_are_forgotten_after_a_while(db: Database) -> None:
    throttle = LoginThrottle(free_attempts=2, max_delay_s=5.0)
    start = dt.datetime(2026, 1, 1, 12, 0, 0)

    async with db.transaction() as session:
        counts = [await record_failure(session, "a@example.com", now=start) for _ in range(3)]
        wait_now = await wait_before_attempt(session, "a@example.com", throttle, now=start)
        later = start + dt.timedelta(seconds=0.75)
        wait_later = await wait_before_attempt(session, "a@example.com", throttle, now=later)
        much_later = start + FAILURE_MEMORY + dt.timedelta(seconds=1)
        forgotten = await wait_before_attempt(session, "a@example.com", throttle, now=much_later)
        restarted = await record_failure(session, "a@example.com", now=much_later)
        other = await wait_before_attempt(session, "b@example.com", throttle, now=start)

    assert counts == [1, 2, 3]
    assert wait_now == throttle.delay_after(3) == 1.0
    assert wait_later == 0.25
    assert forgotten == 0.0
    assert restarted == 1
    assert other == 0.0
