"""An execution whose lease expired is claimed again while its old run is still going (the
database was away, or the worker was frozen): the old run is stopped, its writes are
dropped, and every node's completion is recorded once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from relayflow.store import executions, models
from relayflow.store.db import Database
from tests.runtime.conftest import StartWorker, submit, wait_status
from tests.support.fault_rig import NODES, chain_of_agents, right_output
from tests.support.rows import make_user, make_workflow


async def completed_nodes(db: Database, execution_id: object) -> list[tuple[str, int]]:
    r = models.NodeRun
    async with db.session() as session:
        rows = await session.execute(
            select(r.node_id, func.count())
            .where(r.execution_id == execution_id, r.status == "completed")
            .group_by(r.node_id)
        )
    return sorted(rows.all())


async def test_an_execution_claimed_again_mid_run_completes_each_node_once(
    db: Database, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, chain_of_agents())
    worker = await start_worker(concurrency=4)
    execution_id = await submit(db, workflow, user, {"n": 7})

    async def first_agent_done() -> None:
        while ("n1", 1) not in await completed_nodes(db, execution_id):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(first_agent_done(), timeout=20)
    async with db.transaction() as session:  # what the reaper does to an expired lease
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == execution_id)
            .values(status="pending", lease_owner=None, lease_expires_at=None)
        )
        await executions.wake_workers(session)

    done = await wait_status(db, execution_id, {"completed", "failed"}, timeout=30)
    assert done.status == "completed"
    assert right_output(done.output, 7)
    nodes = await completed_nodes(db, execution_id)
    assert len(nodes) == NODES
    assert {count for _, count in nodes} == {1}  # no node completed twice
    assert worker.claimed_total == 2  # the same worker took it again, and ran it once more
