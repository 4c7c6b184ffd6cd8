"""What a worker's claim tells about the queue, and the direct PostgreSQL claim."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, insert, select, update

from relayflow.config import Settings
from relayflow.runtime.events import EventBus
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.queue import pending
from relayflow.store.queue.claim import USERS_PER_CLAIM, claim_params
from relayflow.store.queue.rows import Claim
from relayflow.store.queue.statements.claims import PG_CLAIM
from tests.runtime.conftest import StartWorker, final_event, submit, wait_status
from tests.support.rows import echo_graph, make_user, make_workflow


async def queue(db: Database, n: int, *, users: int = 1) -> list[uuid.UUID]:
    ids = []
    for _ in range(users):
        user = await make_user(db)
        workflow = await make_workflow(db, user)
        ids += [await submit(db, workflow, user, {"text": f"#{i}"}) for i in range(n)]
    return ids


async def claim(db: Database, limit: int, user_concurrency: int | None = None) -> Claim:
    return await db.queue.claim(
        owner="w", limit=limit, lease_seconds=30, user_concurrency=user_concurrency
    )


async def test_a_claim_says_whether_it_left_pending_executions_behind(db: Database) -> None:
    await queue(db, 3)
    first = await claim(db, 2)
    assert (len(first.executions), first.more_pending) == (2, True)
    second = await claim(db, 2)
    assert (len(second.executions), second.more_pending) == (1, False)
    empty = await claim(db, 2)
    assert (empty.executions, empty.more_pending) == ([], False)


async def test_executions_left_for_a_user_at_the_cap_count_as_left_behind(db: Database) -> None:
    await queue(db, 2)
    first = await claim(db, 5, user_concurrency=1)
    assert (len(first.executions), first.more_pending) == (1, True)
    capped = await claim(db, 5, user_concurrency=1)
    assert (capped.executions, capped.more_pending) == ([], True)


# The worker claims again when a slot frees up only if work may be waiting unannounced.
# The poll (the fallback for lost signals) is out of the way: each claim below is
# made when a slot frees up, never by a poll.
NO_POLL_S = 600.0


async def claim_times(db: Database, ids: list[uuid.UUID]) -> list[tuple[dt.datetime, dt.datetime]]:
    times = []
    for execution_id in ids:
        async with db.session() as session:
            row = await pending.get_execution(session, execution_id)
        assert row.status == "completed"
        assert row.claimed_at is not None
        assert row.completed_at is not None
        times.append((row.claimed_at, row.completed_at))
    return times


async def test_a_worker_claims_what_its_last_claim_left_when_a_slot_frees_up(
    db: Database, bus: EventBus, runtime_settings: Settings, start_worker: StartWorker
) -> None:
    ids = await queue(db, 3)
    worker = await start_worker(
        runtime_settings.model_copy(update={"poll_seconds": NO_POLL_S}), concurrency=1
    )
    for execution_id in ids:
        assert (await final_event(bus, execution_id)).payload["status"] == "completed"
    assert worker.claimed_total == 3
    times = await claim_times(db, ids)
    # One slot: each was claimed, oldest first, once the one before it had finished.
    for (_, finished), (claimed_next, _) in itertools.pairwise(times):
        assert claimed_next >= finished


async def test_a_worker_claims_what_was_signalled_while_its_slots_were_busy(
    db: Database, bus: EventBus, runtime_settings: Settings, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    slow = await make_workflow(db, user, echo_graph("test:sleep-300"))
    worker = await start_worker(
        runtime_settings.model_copy(update={"poll_seconds": NO_POLL_S}), concurrency=1
    )
    first = await submit(db, slow, user)
    await wait_status(db, first, {"processing"})
    second = await submit(db, slow, user)  # signalled while the only slot is busy
    assert (await final_event(bus, second)).payload["status"] == "completed"
    assert worker.claimed_total == 2
    [(_, first_finished), (second_claimed, _)] = await claim_times(db, [first, second])
    assert second_claimed >= first_finished  # claimed when the slot freed up


async def test_a_claim_takes_the_oldest_per_user_share_and_returns_the_run(
    db: Database,
) -> None:
    ids = await queue(db, 2, users=2)
    direct = await db.queue.claim(
        owner="w", limit=3, lease_seconds=30, user_concurrency=1, wait_for_disk=False
    )
    assert len(direct.executions) == 2  # one per user: the cap is 1
    assert direct.more_pending
    assert [c.id for c in direct.executions] == [ids[0], ids[2]]
    first = direct.executions[0]
    assert first.input == {"text": "#0"}
    assert first.trigger == {"type": "api"}
    assert [n["id"] for n in first.graph["nodes"]] == ["n0", "n1", "n2"]
    assert (first.lease_token, first.resumed, first.decisions) == (1, False, {})
    async with db.session() as session:
        row = await pending.get_execution(session, first.id)
    assert (row.status, row.lease_owner, row.claimed_at) == ("processing", "w", first.claimed_at)
    rest = await db.queue.claim(owner="w", limit=3, lease_seconds=30)
    assert [c.id for c in rest.executions] == [ids[1], ids[3]]
    assert not rest.more_pending


async def _claim_rounds(db: Database, claim_once: Callable[[int], Awaitable[Claim]]) -> None:
    # Eight workers claim at the same instant for one user with a backlog: each sees
    # the same committed count unless claims for one user are serialised, and
    # together they would take up to eight times the cap.
    cap, rounds = 3, 5
    await queue(db, 40)
    for _ in range(rounds):
        claims = await asyncio.gather(*(claim_once(i) for i in range(8)))
        assert sum(len(c.executions) for c in claims) == cap
        async with db.transaction() as session:  # the runs end; the next round starts
            await session.execute(
                update(models.Execution)
                .where(models.Execution.status == "processing")
                .values(status="completed")
            )
    async with db.session() as session:
        done = await session.scalar(
            select(func.count()).where(models.Execution.status == "completed")
        )
    assert done == cap * rounds


async def test_racing_claimers_never_take_a_user_past_the_cap(db: Database) -> None:
    async def claim_once(_: int) -> Claim:
        return await claim(db, 4, user_concurrency=3)

    await _claim_rounds(db, claim_once)


@pytest.mark.postgres_only
async def test_a_user_below_the_cap_with_a_short_backlog_is_claimed_in_one_pass(
    db: Database,
) -> None:
    await queue(db, 3)
    claimed = await db.queue.claim(owner="w", limit=10, lease_seconds=30, user_concurrency=5)
    assert len(claimed.executions) == 3
    assert (claimed.contended, claimed.more_pending) == ([], False)


# ------------------------------------------------------------ user by user
async def backlog_of(db: Database, n: int) -> tuple[uuid.UUID, models.Workflow]:
    """A user with `n` pending executions, written in bulk (a burst of webhooks)."""
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await add_backlog(db, user, workflow, n)
    return user, workflow


async def add_backlog(db: Database, user: uuid.UUID, workflow: models.Workflow, n: int) -> None:
    start = dt.datetime(2026, 1, 1)
    rows = [
        {
            "id": uuid.uuid4(),
            "workflow_id": workflow.id,
            "user_id": user,
            "status": "pending",
            "input": {"text": f"#{i}"},
            "graph": echo_graph(),
            "trigger": {"type": "webhook"},
            "started_at": start + dt.timedelta(milliseconds=i),
            "updated_at": start,
        }
        for i in range(n)
    ]
    async with db.transaction() as session:
        await session.execute(insert(models.Execution), rows)


async def test_a_user_queued_behind_a_long_backlog_at_the_cap_is_claimed_at_once(
    db: Database,
) -> None:
    burst, _ = await backlog_of(db, 200)
    bystander = await queue(db, 1)  # started after the whole burst
    claimed = await claim(db, 4, user_concurrency=3)
    mine = [c.id for c in claimed.executions if c.user_id != burst]
    assert mine == bystander  # the free slot beyond the burst's cap goes to them
    assert (len(claimed.executions), claimed.more_pending) == (4, True)
    again = await claim(db, 4, user_concurrency=3)  # the burst's user is at the cap
    assert (again.executions, again.more_pending) == ([], True)


async def test_executions_without_a_user_are_claimed_past_a_user_at_the_cap(
    db: Database,
) -> None:
    _, workflow = await backlog_of(db, 50)
    assert len((await claim(db, 2, user_concurrency=2)).executions) == 2
    ownerless = await submit(db, workflow, None)  # its user was deleted since, say
    claimed = await claim(db, 2, user_concurrency=2)
    assert [c.id for c in claimed.executions] == [ownerless]


async def test_every_waiting_user_gets_a_turn_when_more_wait_than_one_claim_looks_at(
    db: Database,
) -> None:
    ids = await queue(db, 2, users=USERS_PER_CLAIM + 6)
    claimed: set[uuid.UUID] = set()
    # Each claim looks at USERS_PER_CLAIM users from a random one; three claims left
    # some user out about one time in twenty-five, twelve about one in 10**11.
    for _ in range(12):
        got = await claim(db, 1000, user_concurrency=1)
        assert got.more_pending  # every user has a second execution waiting
        claimed |= {c.id for c in got.executions}
        assert len(got.executions) == len({c.user_id for c in got.executions})
        if len(claimed) == USERS_PER_CLAIM + 6:
            break
    assert claimed == set(ids[::2])  # each user's oldest, nobody left out


async def claim_plan_buffers(db: Database, burst: uuid.UUID) -> int:
    """Pages PostgreSQL reads for the one-statement claim of one slot (rolled back)."""
    # The walk over waiting users starts at the burst's user, so both claims take one path.
    params = dict(claim_params("w", 1, 3, False, dt.datetime.now(), 30), **{"from": burst})
    pool = await db.claims_pg().connections()
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            [plan] = json.loads(
                await conn.fetchval(
                    f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {PG_CLAIM.sql}",
                    *PG_CLAIM.arguments(params),
                )
            )
        finally:
            await tx.rollback()
    return int(plan["Plan"]["Shared Hit Blocks"]) + int(plan["Plan"]["Shared Read Blocks"])


@pytest.mark.postgres_only
async def test_a_claim_reads_as_much_behind_a_long_backlog_as_behind_a_short_one(
    db: Database,
) -> None:
    # One user at the cap: the claim must count their work, not walk their backlog
    # (it read every pending row of theirs, ~33 ms per claim at 13,000). Pages of
    # the index's height and of rows not yet marked visible may differ; not nine times.
    burst, workflow = await backlog_of(db, 500)
    assert len((await claim(db, 3, user_concurrency=3)).executions) == 3
    short = await claim_plan_buffers(db, burst)
    await add_backlog(db, burst, workflow, 4000)  # nine times as long
    long = await claim_plan_buffers(db, burst)
    assert long <= short * 1.5, (short, long)


async def test_a_claim_takes_each_users_share_however_their_rows_fall_in_its_reads(
    db: Database,
) -> None:
    # Users with one, five and one waiting runs, a cap of two: SQLite reads the users'
    # rows a few at a time, and a user whose rows run past one read is read again.
    ids = {n: await queue(db, n) for n in (1, 5)}
    lone = await queue(db, 1)
    claimed = await claim(db, 10, user_concurrency=2)
    assert {c.id for c in claimed.executions} == {*ids[1], *ids[5][:2], *lone}
    assert claimed.more_pending  # three of the five wait for the cap
