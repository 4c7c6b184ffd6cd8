"""Journal writes carry their run's lease token: an older run's writes never ride on a newer
claim, and a node's completion is recorded once (migration 0007's unique index)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from relayflow import errors
from relayflow.domain import ExecutionStatus, NodeRunStatus, utcnow
from relayflow.engine.ports import NodeRunRecord
from relayflow.runtime.journal import Journal
from relayflow.store import completions, models
from relayflow.store.db import Database
from relayflow.store.executions import Outcome
from tests.runtime.test_journal import attempt, claimed
from tests.support.rows import node_runs


async def claim_again(db: Database, execution_id: object, token: int) -> int:
    """What a new claim does to the row: a new lease token (the old run's lease is gone)."""
    async with db.transaction() as session:
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == execution_id)
            .values(lease_token=token + 1)
        )
    return token + 1


async def test_a_new_claim_drops_what_the_older_run_left_queued(db: Database) -> None:
    (run,) = await claimed(db, 1)
    journal = Journal(db)  # not flushing yet: the writes stay queued, as during an outage
    journal.begin(run.id, run.lease_token)
    journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output="old"))
    journal.event(run.id, "node.finished", {"node_id": "n0"})
    new_token = await claim_again(db, run.id, run.lease_token)

    journal.begin(run.id, new_token)
    with pytest.raises(errors.LeaseLost):  # the older run can add nothing more
        journal.record(attempt(run.id, NodeRunStatus.RUNNING), lease_token=run.lease_token)
    await journal.start()
    new = NodeRunRecord(run.id, "n1", 0, 1, NodeRunStatus.COMPLETED, output="new")
    journal.record(new, lease_token=new_token)
    assert await journal.finish(Outcome(run.id, new_token, ExecutionStatus.COMPLETED))
    await journal.stop()

    assert journal.dropped["superseded"] == 2
    assert [(r.node_id, r.output) for r in await node_runs(db, run.id)] == [("n1", "new")]


async def test_an_older_runs_lost_lease_does_not_stop_the_newer_run(db: Database) -> None:
    (run,) = await claimed(db, 1)
    lost: list[tuple[object, int]] = []
    journal = Journal(db, on_lease_lost=lambda eid, token: lost.append((eid, token)))
    await journal.start()
    journal.begin(run.id, run.lease_token)
    new_token = await claim_again(db, run.id, run.lease_token)
    journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output="old"))
    await journal.sync()  # written under the old token: refused by the database
    assert lost == [(run.id, run.lease_token)]

    journal.begin(run.id, new_token)
    journal.end(run.id, run.lease_token)  # the older run's clean-up leaves the new run alone
    journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output="new"), lease_token=new_token)
    assert await journal.finish(Outcome(run.id, new_token, ExecutionStatus.COMPLETED))
    await journal.stop()
    assert [r.output for r in await node_runs(db, run.id)] == ["new"]
    assert journal.dropped["lease_lost"] == 1


async def test_a_second_completion_of_a_node_is_kept_as_a_repeat_not_used(db: Database) -> None:
    (run,) = await claimed(db, 1)
    journal = Journal(db)
    await journal.start()
    journal.begin(run.id, run.lease_token)
    journal.record(attempt(run.id, NodeRunStatus.COMPLETED, output="first"))
    await journal.sync()
    now = utcnow().timestamp()
    for status in (NodeRunStatus.RUNNING, NodeRunStatus.COMPLETED):  # started, then ended
        journal.record(NodeRunRecord(run.id, "n0", 0, 2, status, output="second", started_at=now))
        await journal.sync()
    journal.record(  # and one whose start was never written
        NodeRunRecord(run.id, "n0", 0, 3, NodeRunStatus.COMPLETED, output="third")
    )
    assert await journal.finish(Outcome(run.id, run.lease_token, ExecutionStatus.COMPLETED))
    await journal.stop()

    rows = sorted(await node_runs(db, run.id), key=lambda r: r.attempt)
    assert [(r.attempt, r.status, r.output) for r in rows] == [
        (1, "completed", "first"),
        (2, "cancelled", "second"),
        (3, "cancelled", "third"),
    ]
    assert {r.error for r in rows[1:]} == {completions.REPEATED_NOTE}
    assert journal.dropped["repeated_completion"] == 2
