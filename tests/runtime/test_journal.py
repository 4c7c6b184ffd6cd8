"""The worker's journal: many executions per transaction, each fenced by its own lease."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text, update

from relayflow import errors
from relayflow.domain import ExecutionStatus, NodeRunStatus, utcnow
from relayflow.engine.ports import NodeRunRecord
from relayflow.runtime.journal import Journal
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.node_runs import NodeRunWrites, RowIds
from relayflow.store.queue import events, pending
from relayflow.store.queue.batches import RunBatch, write_run_batch
from relayflow.store.queue.rows import ClaimedExecution, Outcome
from tests.runtime.conftest import submit
from tests.support.rows import make_user, make_workflow, node_runs


async def claimed(db: Database, n: int) -> list[ClaimedExecution]:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    for _ in range(n):
        await submit(db, workflow, user)
    claim = await db.queue.claim(owner="w", limit=n, lease_seconds=30)
    return claim.executions


def attempt(execution_id: uuid.UUID, status: NodeRunStatus, output: object = None) -> NodeRunRecord:
    now = utcnow().timestamp()
    return NodeRunRecord(
        execution_id,
        "n0",
        0,
        1,
        status,
        output=output,
        started_at=now,
        finished_at=None if status is NodeRunStatus.RUNNING else now,
    )


async def test_one_attempt_is_one_row_from_start_to_end(db: Database) -> None:
    (run,) = await claimed(db, 1)
    journal = Journal(db)
    await journal.start()
    journal.begin(run.id, run.lease_token)
    journal.record(attempt(run.id, NodeRunStatus.RUNNING))
    await journal.sync()
    (started,) = await node_runs(db, run.id)
    assert started.status == "running"
    journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output={"x": 1}))
    assert await journal.finish(Outcome(run.id, run.lease_token, ExecutionStatus.COMPLETED))
    await journal.stop()
    (ended,) = await node_runs(db, run.id)
    assert (ended.id, ended.status, ended.output) == (started.id, "completed", {"x": 1})


async def test_a_lost_lease_drops_only_that_executions_writes(db: Database) -> None:
    keep, lose = await claimed(db, 2)
    lost: list[tuple[uuid.UUID, int]] = []
    journal = Journal(db, on_lease_lost=lambda eid, token: lost.append((eid, token)))
    await journal.start()
    for run in (keep, lose):
        journal.begin(run.id, run.lease_token)
    async with db.transaction() as session:  # another worker took `lose` over
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == lose.id)
            .values(lease_token=lose.lease_token + 1)
        )
    for run in (keep, lose):
        journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output="x"))
        journal.event(run.id, "node.finished", {"node_id": "n0"})
    assert await journal.finish(Outcome(keep.id, keep.lease_token, ExecutionStatus.COMPLETED))
    await journal.sync()
    assert lost == [(lose.id, lose.lease_token)]
    assert journal.dropped["lease_lost"] == 2  # its node run and its event
    assert not await journal.finish(Outcome(lose.id, lose.lease_token, ExecutionStatus.FAILED))
    with pytest.raises(errors.LeaseLost):
        journal.record(attempt(lose.id, NodeRunStatus.COMPLETED))
    await journal.stop()
    assert [r.status for r in await node_runs(db, keep.id)] == ["completed"]
    assert await node_runs(db, lose.id) == []
    async with db.session() as session:
        assert await events.count_events(session, lose.id) == 0
        assert await events.count_events(session, keep.id) == 2
        assert (await pending.get_execution(session, lose.id)).status == "processing"


async def test_many_executions_share_few_transactions(db: Database) -> None:
    runs = await claimed(db, 30)
    journal = Journal(db)
    await journal.start()
    for run in runs:
        journal.begin(run.id, run.lease_token)
        journal.record(attempt(run.id, NodeRunStatus.COMPLETED))
    written = await asyncio.gather(
        *(journal.finish(Outcome(r.id, r.lease_token, ExecutionStatus.COMPLETED)) for r in runs)
    )
    await journal.stop()
    assert all(written)
    assert journal.batches_written <= 2
    async with db.session() as session:
        statuses = {(await pending.get_execution(session, r.id)).status for r in runs}
    assert statuses == {"completed"}


@pytest.mark.postgres_only
async def test_results_the_database_refuses_fail_that_execution_alone(db: Database) -> None:
    bad, good = await claimed(db, 2)
    journal = Journal(db)
    await journal.start()
    for run in (bad, good):
        journal.begin(run.id, run.lease_token)
    journal.record(attempt(bad.id, NodeRunStatus.COMPLETED, output="nul \u0000 byte"))
    journal.record(attempt(good.id, NodeRunStatus.COMPLETED, output="fine"))
    assert await journal.finish(Outcome(good.id, good.lease_token, ExecutionStatus.COMPLETED))
    await journal.stop()
    async with db.session() as session:
        failed = await pending.get_execution(session, bad.id)
        done = await pending.get_execution(session, good.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "could not be stored" in failed.error
    assert done.status == "completed"


async def test_a_finished_node_and_the_outcome_right_after_it_share_one_transaction(
    db: Database,
) -> None:
    (run,) = await claimed(db, 1)
    journal = Journal(db, linger_s=60, finished_linger_s=60)  # only the outcome writes
    await journal.start()
    journal.begin(run.id, run.lease_token)
    journal.record(attempt(run.id, NodeRunStatus.RUNNING))
    journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output="x"))
    await asyncio.sleep(0)
    assert await journal.finish(Outcome(run.id, run.lease_token, ExecutionStatus.COMPLETED))
    await journal.stop()
    assert journal.batches_written == 1
    assert [r.status for r in await node_runs(db, run.id)] == ["completed"]


async def test_a_finished_node_is_written_without_waiting_for_anything_else(
    db: Database,
) -> None:
    (run,) = await claimed(db, 1)
    journal = Journal(db)
    await journal.start()
    journal.begin(run.id, run.lease_token)
    journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output="x"))
    async with asyncio.timeout(10):  # no outcome, no sync, no other record: it goes alone
        while journal.batches_written == 0:
            await asyncio.sleep(0.01)
    written = await node_runs(db, run.id)
    await journal.stop()
    assert journal.batches_written == 1
    assert [(r.status, r.output) for r in written] == [("completed", "x")]


def _two_batches(run: ClaimedExecution, outcome: ExecutionStatus) -> list[RunBatch]:
    """A node started, then finished with another node failed, and the outcome."""
    now = utcnow().timestamp()
    started = NodeRunRecord(run.id, "a", 0, 1, NodeRunStatus.RUNNING, started_at=now)
    ended = [
        NodeRunRecord(
            run.id,
            "a",
            0,
            1,
            NodeRunStatus.COMPLETED,
            input={"q": [1, None]},
            output=None,
            started_at=now,
            finished_at=now + 0.01,
            active_handles=["yes"],
        ),
        NodeRunRecord(
            run.id, "b", 1, 2, NodeRunStatus.FAILED, error="boom", started_at=now, finished_at=now
        ),
    ]
    rows, first, second = RowIds(), NodeRunWrites(), NodeRunWrites()
    rows.plan(started, first)
    for record in ended:
        rows.plan(record, second)
    end = Outcome(
        run.id,
        run.lease_token,
        outcome,
        output={"o": 1} if outcome is ExecutionStatus.COMPLETED else None,
        input_tokens=3,
        output_tokens=4,
        cost_usd=0.5,
        waiting_on=["b"] if outcome is ExecutionStatus.WAITING else [],
    )
    leases = {run.id: run.lease_token}
    return [
        RunBatch(leases, first, [(run.id, "execution.status", {"status": "processing"})]),
        RunBatch(
            dict(leases),
            second,
            [(run.id, "node.finished", {"node_id": "a"}), (run.id, "x", {"v": None})],
            [end],
        ),
    ]


async def _written(db: Database, execution_id: uuid.UUID) -> Any:
    e, r, v = models.Execution, models.NodeRun, models.ExecutionEvent
    async with db.session() as session:
        execution = (
            await session.execute(
                select(
                    e.status, e.output, e.error, e.input_tokens, e.output_tokens, e.cost_usd,
                    e.waiting_on, e.lease_owner, e.lease_expires_at, e.completed_at.is_(None),
                    e.duration_ms.is_(None),
                ).where(e.id == execution_id)
            )
        ).one()  # fmt: skip
        runs = (
            await session.execute(
                select(
                    r.node_id, r.iteration, r.attempt, r.status, r.input, r.output, r.error,
                    r.active_handles, r.duration_ms, r.details, r.finished_at.is_(None),
                )
                .where(r.execution_id == execution_id)
                .order_by(r.node_id)
            )
        ).all()  # fmt: skip
        stored = (
            await session.execute(
                select(v.kind, v.payload).where(v.execution_id == execution_id).order_by(v.id)
            )
        ).all()
    return tuple(execution), [tuple(x) for x in runs], [tuple(x) for x in stored]


async def _stored(db: Database, execution_id: uuid.UUID) -> Any:
    """SQLite: the JSON columns as stored (text, or NULL), not as read back."""
    async with db.session() as session:
        rows = await session.execute(
            text(
                "SELECT node_id, input, output, active_handles, details FROM node_runs "
                "WHERE execution_id = :id ORDER BY node_id"
            ),
            {"id": execution_id.hex},
        )
        outcome = await session.execute(
            text("SELECT output, waiting_on FROM executions WHERE id = :id"),
            {"id": execution_id.hex},
        )
        return [tuple(row) for row in rows], tuple(outcome.one())


@pytest.mark.parametrize("outcome", [ExecutionStatus.COMPLETED, ExecutionStatus.WAITING])
async def test_the_queues_batch_writes_what_the_statements_write(
    db: Database, outcome: ExecutionStatus
) -> None:
    """PostgreSQL's one statement and SQLite's plain-SQL transaction, against the
    statement-by-statement batch in a session."""
    by_statements, by_queue = await claimed(db, 2)
    for batch in _two_batches(by_statements, outcome):
        async with db.transaction() as session:
            assert (await write_run_batch(session, batch)).lost == set()
    for batch in _two_batches(by_queue, outcome):
        assert (await db.queue.write_batch(batch)).lost == set()
    assert await _written(db, by_queue.id) == await _written(db, by_statements.id)
    if db.is_sqlite:
        assert await _stored(db, by_queue.id) == await _stored(db, by_statements.id)
