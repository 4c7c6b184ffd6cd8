"""The worker's journal: many executions per transaction, each fenced by its own lease."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import update

from relayflow import errors
from relayflow.domain import ExecutionStatus, NodeRunStatus, utcnow
from relayflow.engine.ports import NodeRunRecord
from relayflow.runtime.journal import Journal
from relayflow.store import events, executions, models
from relayflow.store.db import Database
from relayflow.store.executions import ClaimedExecution, Outcome
from tests.runtime.conftest import submit
from tests.support.rows import make_user, make_workflow, node_runs


async def claimed(db: Database, n: int) -> list[ClaimedExecution]:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    for _ in range(n):
        await submit(db, workflow, user)
    async with db.transaction() as session:
        return await executions.claim_executions(session, owner="w", limit=n, lease_seconds=30)


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
    lost: list[uuid.UUID] = []
    journal = Journal(db, on_lease_lost=lost.append)
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
    assert lost == [lose.id]
    assert not await journal.finish(Outcome(lose.id, lose.lease_token, ExecutionStatus.FAILED))
    with pytest.raises(errors.LeaseLost):
        journal.record(attempt(lose.id, NodeRunStatus.COMPLETED))
    await journal.stop()
    assert [r.status for r in await node_runs(db, keep.id)] == ["completed"]
    assert await node_runs(db, lose.id) == []
    async with db.session() as session:
        assert await events.count_events(session, lose.id) == 0
        assert await events.count_events(session, keep.id) == 2
        assert (await executions.get_execution(session, lose.id)).status == "processing"


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
        statuses = {(await executions.get_execution(session, r.id)).status for r in runs}
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
        failed = await executions.get_execution(session, bad.id)
        done = await executions.get_execution(session, good.id)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "could not be stored" in failed.error
    assert done.status == "completed"
