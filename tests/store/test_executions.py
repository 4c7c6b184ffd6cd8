"""The execution queue: creating, claiming, leases, fencing, finishing, reaping, releasing."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from relayflow import errors
from relayflow.domain import ExecutionStatus, NodeRunStatus, utcnow
from relayflow.engine.ports import NodeRunRecord
from relayflow.runtime.notifications import Notifications
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.node_runs import SqlRunStore
from relayflow.store.queue import events, leases, pending, rows, signals
from relayflow.store.queue.batches import RunBatch
from relayflow.store.queue.rows import Outcome
from tests.support.rows import make_user, make_workflow


async def submit(
    db: Database, workflow: models.Workflow, user_id: uuid.UUID | None, n: int = 1
) -> list[uuid.UUID]:
    ids = []
    async with db.transaction() as session:
        for i in range(n):
            execution = await pending.create_pending_execution(
                session, workflow=workflow, input={"i": i}, trigger={"type": "api"}, user_id=user_id
            )
            ids.append(execution.id)
    return ids


async def row(db: Database, execution_id: uuid.UUID) -> models.Execution:
    async with db.session() as session:
        return await pending.get_execution(session, execution_id)


async def claim(db: Database, owner: str, limit: int = 10, **kw: Any) -> list[Any]:
    lease_seconds = kw.pop("lease_seconds", 30)
    claimed = await db.queue.claim(owner=owner, limit=limit, lease_seconds=lease_seconds, **kw)
    return list(claimed.executions)


async def expire_leases(db: Database) -> None:
    """Time travel: every lease ran out a minute ago."""
    async with db.transaction() as session:
        await session.execute(
            update(models.Execution)
            .where(models.Execution.status == "processing")
            .values(lease_expires_at=utcnow() - dt.timedelta(minutes=1))
        )


async def reap(db: Database, max_lost: int = 3) -> list[rows.ReapedExecution]:
    async with db.transaction() as session:
        return await leases.reap_expired_leases(session, max_lost_leases=max_lost)


# ----------------------------------------------------------------- creating
async def test_a_pending_execution_pins_the_graph_and_who_started_it(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    (execution_id,) = await submit(db, workflow, user)
    async with db.transaction() as session:  # editing the workflow later changes nothing
        stored = await session.get(models.Workflow, workflow.id)
        assert stored is not None
        stored.nodes = []
    execution = await row(db, execution_id)
    assert execution.status == "pending"
    assert execution.graph == {"nodes": workflow.nodes, "edges": workflow.edges}
    assert execution.user_id == user
    assert execution.trigger == {"type": "api"}
    assert execution.input == {"i": 0}
    assert execution.lease_token == 0


async def test_workers_are_woken_on_commit_and_not_on_rollback(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    listener = Notifications(db)
    woken = asyncio.Event()
    marker = uuid.uuid4()
    marker_seen = asyncio.Event()
    listener.add(signals.WORK, lambda _payload: woken.set())
    listener.add(
        signals.CANCEL, lambda payload: marker_seen.set() if payload == str(marker) else None
    )
    await listener.start()
    await listener.listen(signals.WORK)
    await listener.listen(signals.CANCEL)
    try:
        async with db.session() as session:  # the caller fails after inserting
            await pending.create_pending_execution(
                session, workflow=workflow, input=None, trigger={}, user_id=user
            )
            await session.rollback()
        # Signals arrive in the order they are sent: once a signal committed after the
        # rollback has arrived, one sent for the rollback would have arrived before it.
        async with db.transaction() as session:
            await pending.request_cancel_signal(session, marker)
        await asyncio.wait_for(marker_seen.wait(), timeout=5)
        assert not woken.is_set()
        await submit(db, workflow, user)
        await asyncio.wait_for(woken.wait(), timeout=5)
    finally:
        await listener.stop()
    assert (await db.queue.backlog()).pending == 1  # the rolled back one is gone


async def test_a_cancel_signal_names_the_execution(db: Database) -> None:
    listener = Notifications(db)
    got: asyncio.Queue[str] = asyncio.Queue()
    listener.add(signals.CANCEL, got.put_nowait)
    await listener.start()
    await listener.listen(signals.CANCEL)
    execution_id = uuid.uuid4()
    try:
        async with db.transaction() as session:
            await pending.request_cancel_signal(session, execution_id)
        assert await asyncio.wait_for(got.get(), timeout=5) == str(execution_id)
    finally:
        await listener.stop()


# ----------------------------------------------------------------- claiming
async def test_claims_are_exclusive_under_concurrency(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    submitted = set(await submit(db, workflow, user, n=60))
    if not db.is_sqlite:  # the pool's connections open first, as in a running worker
        pool = await db.direct_pg().connections()
        await asyncio.gather(*(pool.fetchval("SELECT pg_sleep(0.05)") for _ in range(6)))

    # Claimers contend until the queue is drained: under contention a claim may come
    # back empty (SQLite serialises writers), which must not end a claimer early.
    start = asyncio.Barrier(6)
    taken: list[uuid.UUID] = []

    async def claimer(name: str) -> list[tuple[uuid.UUID, int]]:
        got = []
        await start.wait()
        while len(taken) < len(submitted):
            batch = await claim(db, name, limit=4, user_concurrency=1000)
            taken.extend(c.id for c in batch)
            got += [(c.id, c.lease_token) for c in batch]
            await asyncio.sleep(0.001 if not batch else 0)
        return got

    results = await asyncio.wait_for(
        asyncio.gather(*(claimer(f"w{i}") for i in range(6))), timeout=60
    )
    claimed = [execution_id for got in results for execution_id, _ in got]
    assert sorted(claimed) == sorted(submitted)  # every one, exactly once
    assert {token for got in results for _, token in got} == {1}
    async with db.session() as session:
        owners = (
            await session.execute(select(models.Execution.lease_owner, models.Execution.status))
        ).all()
    assert {status for _, status in owners} == {"processing"}
    async with db.session() as session:
        rows = (
            await session.execute(select(models.Execution.id, models.Execution.lease_owner))
        ).all()
    recorded = {execution_id: owner for execution_id, owner in rows}
    for i, got in enumerate(results):  # each lease names the claimer that got it
        assert all(recorded[execution_id] == f"w{i}" for execution_id, _ in got)


async def test_claims_take_the_oldest_first(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    first = await submit(db, workflow, user, n=3)
    await submit(db, workflow, user, n=3)
    assert [c.id for c in await claim(db, "w", limit=3)] == first


async def test_a_user_at_the_cap_is_skipped_and_others_are_served(db: Database) -> None:
    busy, other = await make_user(db), await make_user(db)
    busy_flow, other_flow = await make_workflow(db, busy), await make_workflow(db, other)
    busy_ids = await submit(db, busy_flow, busy, n=5)
    other_ids = await submit(db, other_flow, other, n=2)
    first = await claim(db, "w1", limit=10, user_concurrency=2)
    assert [c.id for c in first] == busy_ids[:2] + other_ids  # 2 of busy's, all of other's
    assert await claim(db, "w2", limit=10, user_concurrency=2) == []  # busy is at the cap
    async with db.transaction() as session:  # one of busy's executions finishes
        await leases.finish_execution(
            session, Outcome(first[0].id, first[0].lease_token, ExecutionStatus.COMPLETED)
        )
    assert [c.id for c in await claim(db, "w2", limit=10, user_concurrency=2)] == [busy_ids[2]]


async def test_a_claim_marks_resumed_executions(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await submit(db, workflow, user)
    (first,) = await claim(db, "w1")
    assert not first.resumed
    await expire_leases(db)
    await reap(db)
    (again,) = await claim(db, "w2")
    assert again.resumed
    assert again.lease_token == first.lease_token + 1
    assert again.claimed_at == first.claimed_at  # the first pick-up is kept


# ----------------------------------------------------------------- leases
async def test_heartbeats_extend_held_leases_and_report_lost_and_cancelled(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await submit(db, workflow, user, n=2)
    a, b = await claim(db, "w1", lease_seconds=5)
    before = (await row(db, a.id)).lease_expires_at
    async with db.transaction() as session:
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == b.id)
            .values(cancel_requested=True)
        )
    async with db.transaction() as session:
        states = await leases.renew_leases(
            session, owner="w1", tokens={a.id: a.lease_token, b.id: b.lease_token}, lease_seconds=60
        )
    assert states[a.id] == rows.LeaseState(held=True, cancel_requested=False)
    assert states[b.id] == rows.LeaseState(held=True, cancel_requested=True)
    after = (await row(db, a.id)).lease_expires_at
    assert before is not None
    assert after is not None
    assert after > before
    async with db.transaction() as session:
        states = await leases.renew_leases(
            session, owner="w2", tokens={a.id: a.lease_token}, lease_seconds=60
        )
    assert states[a.id].held is False  # not w2's lease


@pytest.mark.postgres_only
async def test_lease_renewals_and_journal_batches_on_the_same_rows_never_deadlock(
    db: Database,
) -> None:
    # The heartbeat and the journal's batch each lock many execution rows in one
    # statement; in different orders they deadlocked under load ("deadlock detected").
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await submit(db, workflow, user, n=40)
    claimed = await claim(db, "w1", limit=40, user_concurrency=100)
    tokens = {c.id: c.lease_token for c in claimed}
    shuffler = random.Random(20261201)

    def shuffled() -> dict[uuid.UUID, int]:
        order = list(tokens)
        shuffler.shuffle(order)
        return {execution_id: tokens[execution_id] for execution_id in order}

    async def renew() -> dict[uuid.UUID, rows.LeaseState]:
        async with db.transaction() as session:
            return await leases.renew_leases(
                session, owner="w1", tokens=shuffled(), lease_seconds=60
            )

    for _ in range(60):
        results = await asyncio.gather(
            *[renew() for _ in range(3)],
            *[db.queue.write_batch(RunBatch(leases=shuffled())) for _ in range(3)],
        )
        assert all(state.held for state in results[0].values())
        assert results[3].lost == set()


async def test_a_worker_that_lost_its_lease_cannot_write(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    (execution_id,) = await submit(db, workflow, user)
    (old,) = await claim(db, "w1")
    await expire_leases(db)
    await reap(db)
    (new,) = await claim(db, "w2")
    store = SqlRunStore(db)
    record = NodeRunRecord(
        execution_id,
        "n0",
        0,
        1,
        NodeRunStatus.COMPLETED,
        output="stale",
        started_at=1,
        finished_at=2,
    )
    with pytest.raises(errors.LeaseLost):
        await store.record(record, fence=old.lease_token)
    with pytest.raises(errors.LeaseLost):
        async with db.transaction() as session:
            await leases.finish_execution(
                session, Outcome(execution_id, old.lease_token, ExecutionStatus.FAILED, error="x")
            )
    assert await store.finished(execution_id) == []
    assert (await row(db, execution_id)).status == "processing"
    # The current holder writes normally.
    record.output = "fresh"
    await store.record(record, fence=new.lease_token)
    async with db.transaction() as session:
        await leases.finish_execution(
            session, Outcome(execution_id, new.lease_token, ExecutionStatus.COMPLETED, output=1)
        )
    assert [r.output for r in await store.finished(execution_id)] == ["fresh"]
    final = await row(db, execution_id)
    assert (final.status, final.output, final.lease_owner) == ("completed", 1, None)


async def test_finishing_records_totals_and_duration_from_the_start(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    (execution_id,) = await submit(db, workflow, user)
    (claimed,) = await claim(db, "w1")
    outcome = Outcome(
        execution_id,
        claimed.lease_token,
        ExecutionStatus.COMPLETED,
        output={"answer": 42},
        input_tokens=120,
        output_tokens=30,
        cost_usd=0.25,
    )
    async with db.transaction() as session:
        await leases.finish_execution(session, outcome)
    done = await row(db, execution_id)
    assert (done.input_tokens, done.output_tokens, done.cost_usd) == (120, 30, 0.25)
    assert done.started_at is not None
    assert done.completed_at is not None
    expected_ms = (done.completed_at - done.started_at) / dt.timedelta(milliseconds=1)
    assert done.duration_ms is not None
    assert abs(done.duration_ms - expected_ms) < 2  # SQLite date math keeps milliseconds
    async with db.session() as session:
        (final,) = await events.fetch_events(session, execution_id)
    assert final.is_final
    assert final.payload == {"status": "completed", "output": {"answer": 42}}


async def test_a_waiting_execution_keeps_its_approval_nodes_and_no_completion(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    (execution_id,) = await submit(db, workflow, user)
    (claimed,) = await claim(db, "w1")
    async with db.transaction() as session:
        await leases.finish_execution(
            session,
            Outcome(execution_id, claimed.lease_token, ExecutionStatus.WAITING, waiting_on=["ok"]),
        )
    waiting = await row(db, execution_id)
    assert (waiting.status, waiting.waiting_on, waiting.completed_at) == ("waiting", ["ok"], None)
    assert waiting.lease_owner is None


# ----------------------------------------------------------------- reaping and releasing
async def test_the_reaper_returns_expired_leases_with_the_reason(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    (execution_id,) = await submit(db, workflow, user)
    await claim(db, "worker-7")
    assert await reap(db) == []  # the lease is still running
    await expire_leases(db)
    (reaped,) = await reap(db)
    assert (reaped.id, reaped.previous_owner, reaped.failed) == (execution_id, "worker-7", False)
    back = await row(db, execution_id)
    assert (back.status, back.lost_leases, back.lease_owner) == ("pending", 1, None)
    async with db.session() as session:
        (event,) = await events.fetch_events(session, execution_id)
    assert event.payload["status"] == "pending"
    assert "worker-7" in event.payload["reason"]


async def test_an_execution_that_keeps_losing_its_worker_fails_saying_so(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    (execution_id,) = await submit(db, workflow, user)
    for _ in range(2):
        await claim(db, "w")
        await expire_leases(db)
        await reap(db, max_lost=3)
    assert (await row(db, execution_id)).status == "pending"
    await claim(db, "w")
    await expire_leases(db)
    (reaped,) = await reap(db, max_lost=3)
    assert reaped.failed
    failed = await row(db, execution_id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "lost its worker 3 times" in failed.error
    assert failed.completed_at is not None
    assert await claim(db, "w") == []


async def test_released_executions_go_back_without_counting_as_lost(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    (execution_id,) = await submit(db, workflow, user)
    (claimed,) = await claim(db, "w1")
    async with db.transaction() as session:
        released = await leases.release_executions(
            session, {execution_id: claimed.lease_token}, reason="shutting down"
        )
    assert released == {execution_id}
    back = await row(db, execution_id)
    assert (back.status, back.lost_leases) == ("pending", 0)
    async with db.transaction() as session:  # a stale token releases nothing
        assert (
            await leases.release_executions(
                session, {execution_id: claimed.lease_token}, reason="again"
            )
            == set()
        )
