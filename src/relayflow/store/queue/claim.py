"""Claiming: pending executions become `processing` under a lease, oldest first.

Each claimed row gets a lease until now + lease_seconds and a new lease token.
Users already running `user_concurrency` executions are skipped, and one claim
never takes more than their remaining share, even when claimers race:
- PostgreSQL: one statement (`statements.claims.PG_CLAIM`) without an explicit
  transaction; a user whose backlog could take them past the cap is claimed for
  in a second pass under a per-user lock (`statements.claims.PG_CLAIM_OF_USERS`; their
  claimers wait for each other; everyone else's stay one statement). (Left: a
  one-statement claim for a user well under the cap may still be in flight when a
  burst of new executions makes them contended and a locked pass claims those.)
- SQLite: every claim holds the write lock while it counts (`sqlite_writes.claim`).

Both read user by user: the users with pending work (at most `USERS_PER_CLAIM`,
from a random point of the user index and around), then each user's oldest rows
within their share. A claim's cost follows the users waiting and the rows it
takes, not the length of anyone's backlog, and a user at the cap costs a count.
Oldest first holds among the users one claim looks at: all of them unless more
than `USERS_PER_CLAIM` users wait at once.

The queue implementations run these on their drivers (`Queue.claim`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table

from relayflow.store import models
from relayflow.store.queue.drivers import NumberedStatement
from relayflow.store.queue.rows import (
    NO_CAP,
    Claim,
    ClaimedExecution,
    claimed_from,
)
from relayflow.store.queue.statements.claims import PG_CLAIM, PG_CLAIM_UNCAPPED

_executions = cast(Table, models.Execution.__table__)
_JSON_CLAIM_COLUMNS = ("graph", "input", "trigger", "decisions")
# Users one claim looks at (one index probe each, and a count of their running and
# pending executions); a random start spreads the turns when more are waiting.
USERS_PER_CLAIM = 64
# A user's pending rows are counted up to the cap, or this many if the cap is higher
# (a user past it is claimed for under their lock, as one who could pass the cap).
COUNTED_BACKLOG = 128


def claim_params(
    owner: str,
    limit: int,
    user_concurrency: int | None,
    wait_for_disk: bool,
    now: dt.datetime,
    lease_seconds: float,
) -> dict[str, Any]:
    """The parameters of a claim of everyone's work (`first_pass`)."""
    return {
        "sc": "on" if wait_for_disk else "off",
        "cap": user_concurrency if user_concurrency is not None else NO_CAP,
        "bound": min(user_concurrency or 0, COUNTED_BACKLOG),
        "walk": USERS_PER_CLAIM,
        "from": uuid.uuid4(),
        "limit": limit,
        "owner": owner,
        "expires": now + dt.timedelta(seconds=lease_seconds),
        "now": now,
    }


def _by_age(executions: list[ClaimedExecution], now: dt.datetime) -> list[ClaimedExecution]:
    return sorted(executions, key=lambda c: (c.started_at or now, str(c.id)))


def pg_claim_result(rows: Sequence[Mapping[Any, Any]], now: dt.datetime) -> Claim:
    """The claim statement's rows: one per claimed execution, or one of NULLs."""
    more_pending = bool(rows and rows[0]["left_behind"])
    contended = list(rows[0]["contended"] or []) if rows else []
    claimed = [claimed_from(row) for row in rows if row["id"] is not None]
    return Claim(_by_age(claimed, now), more_pending=more_pending, contended=contended)


def first_pass(params: Mapping[str, Any]) -> NumberedStatement:
    """The one-statement claim for these parameters: within the cap, or without one."""
    return PG_CLAIM if params["cap"] < NO_CAP else PG_CLAIM_UNCAPPED


async def fetch_pg_claim(
    conn: Any, statement: NumberedStatement, params: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """Run a claim statement on an asyncpg connection or pool."""
    records = await conn.fetch(statement.sql, *statement.arguments(params))
    rows: list[Mapping[str, Any]] = []
    for record in records:
        row = dict(record)
        for name in _JSON_CLAIM_COLUMNS:  # asyncpg hands JSON over as text
            if row[name] is not None:
                row[name] = json.loads(row[name])
        rows.append(row)
    return rows


FetchClaim = Callable[[Mapping[str, Any]], Awaitable[list[Mapping[str, Any]]]]
FetchLockedClaim = Callable[
    [list[uuid.UUID], Mapping[str, Any]], Awaitable[list[Mapping[str, Any]]]
]
"""`fetch(params)` runs `first_pass(params)`; `fetch_locked(users, params)` runs
`PG_CLAIM_OF_USERS` under the users' locks."""


async def claim_in_two_passes(
    params: Mapping[str, Any], now: dt.datetime, fetch: FetchClaim, fetch_locked: FetchLockedClaim
) -> Claim:
    """PostgreSQL: the one-statement claim, then, for the users it found contended
    (whose backlog could take them past their cap if claimers raced), the same
    claim under their per-user locks, counting what earlier lock holders committed."""
    fast = pg_claim_result(await fetch(params), now)
    room = int(params["limit"]) - len(fast.executions)
    if not fast.contended or room <= 0:
        return fast
    users = sorted(fast.contended)
    exact = dict(params, users=users, limit=room)
    locked = pg_claim_result(await fetch_locked(users, exact), now)
    return Claim(
        _by_age([*fast.executions, *locked.executions], now),
        more_pending=fast.more_pending or locked.more_pending,
    )
