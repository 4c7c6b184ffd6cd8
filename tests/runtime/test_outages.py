"""Durability under faults on a private PostgreSQL cluster that the tests stop and start.

`relayflow serve --no-worker` and two `relayflow worker` processes (lease 3 s) run
30 executions of input -> 4 agents (`test:sleep-400`) -> output while the
database goes away (`pg_ctl stop -m fast`) or a worker is frozen (SIGSTOP). After
each fault every execution completes once with the right output, no node's
completion is recorded twice, no webhook answered 202 is lost, nothing is left
pending or processing, and every process is still alive (none needed a restart).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from relayflow.runtime.events import EventBus
from relayflow.runtime.worker import Worker
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade
from tests.runtime.conftest import wait_status
from tests.support.fault_rig import (
    Installation,
    assert_each_completed_once,
    counts_by_status,
    make_owner_and_workflow,
    make_webhook,
    metric,
    submit,
    wait_until,
)
from tests.support.live_server import free_port
from tests.support.pg_cluster import PrivatePostgres, pg_bin

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres_only,
    pytest.mark.skipif(pg_bin() is None, reason="needs the PostgreSQL server binaries"),
]

EXECUTIONS = 30
FAULT_AFTER_S = 0.8


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.init()
    pg.start()
    yield pg
    pg.close()


@pytest.fixture
async def private_db(cluster: PrivatePostgres) -> AsyncIterator[tuple[Database, str]]:
    if not cluster.is_running():
        cluster.start()
    await cluster.wait_ready()
    url = await cluster.create_database(f"rf_fault_{uuid.uuid4().hex[:10]}")
    db_url = url.replace("postgresql://", "postgresql+asyncpg://")
    db = Database(db_url)
    await upgrade(db)
    yield db, db_url
    await db.dispose()


@pytest.fixture
def installation(private_db: tuple[Database, str], tmp_path: Path) -> Iterator[Installation]:
    group = Installation(private_db[1], tmp_path)
    yield group
    group.stop_all()


async def outage(cluster: PrivatePostgres, seconds: float) -> None:
    await asyncio.to_thread(cluster.stop)
    await asyncio.sleep(seconds)
    await asyncio.to_thread(cluster.start)


async def start_all(group: Installation) -> int:
    """serve --no-worker and workers w1 (with its metrics port) and w2; returns that port."""
    metrics_port = free_port()
    group.worker("w1", metrics_port=metrics_port)
    group.worker("w2")
    await group.serve(worker=False)
    return metrics_port


async def running(db: Database) -> bool:
    return (await counts_by_status(db)).get("processing", 0) > 0


@pytest.mark.parametrize("outage_s", [4.0, 15.0], ids=["4s", "15s"])
async def test_a_database_outage_runs_no_finished_node_twice(
    cluster: PrivatePostgres,
    private_db: tuple[Database, str],
    installation: Installation,
    outage_s: float,
) -> None:
    db, _ = private_db
    metrics_port = await start_all(installation)
    user, workflow = await make_owner_and_workflow(db)
    expected = await submit(db, user, workflow, EXECUTIONS)
    await wait_until(lambda: running(db), timeout=30)
    await asyncio.sleep(FAULT_AFTER_S)

    await outage(cluster, outage_s)

    await assert_each_completed_once(db, expected)
    installation.assert_alive()
    worker_metrics = f"http://127.0.0.1:{metrics_port}"
    assert await metric(
        worker_metrics, "relayflow_database_reconnects_total", component="heartbeat"
    )
    async with httpx.AsyncClient(base_url=installation.base_url, timeout=30) as client:
        assert (await client.get("/readyz")).status_code == 200  # the API came back by itself


async def test_an_outage_during_a_burst_of_webhook_deliveries_loses_no_accepted_one(
    cluster: PrivatePostgres, private_db: tuple[Database, str], installation: Installation
) -> None:
    db, _ = private_db
    await start_all(installation)
    user, workflow = await make_owner_and_workflow(db)
    path, key = await make_webhook(db, user, workflow)
    accepted: dict[uuid.UUID, int] = {}
    refused: list[int] = []

    async def deliver(client: httpx.AsyncClient, n: int) -> None:
        response = await client.post(path, json={"n": n}, headers={"X-API-Key": key})
        if response.status_code == 202:
            accepted[uuid.UUID(response.json()["execution_id"])] = n
        else:
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "database_unavailable"
            refused.append(n)

    async def burst(client: httpx.AsyncClient) -> None:
        for n in range(40):  # about 6 s of deliveries, the outage in the middle
            await asyncio.gather(deliver(client, 2 * n), deliver(client, 2 * n + 1))
            await asyncio.sleep(0.1)

    async with httpx.AsyncClient(base_url=installation.base_url, timeout=30) as client:
        deliveries = asyncio.create_task(burst(client))
        await asyncio.sleep(FAULT_AFTER_S + 0.5)
        await outage(cluster, 4.0)
        await deliveries

    assert refused  # the outage was seen by the deliveries
    assert len(accepted) > EXECUTIONS / 2
    await assert_each_completed_once(db, accepted)
    installation.assert_alive()


async def test_a_frozen_worker_runs_no_finished_node_twice(
    private_db: tuple[Database, str], installation: Installation
) -> None:
    db, _ = private_db
    await start_all(installation)
    user, workflow = await make_owner_and_workflow(db)
    expected = await submit(db, user, workflow, EXECUTIONS)
    await wait_until(lambda: running(db), timeout=30)
    await asyncio.sleep(FAULT_AFTER_S)

    installation.signal("w1", signal.SIGSTOP)
    await asyncio.sleep(8)
    installation.signal("w1", signal.SIGCONT)

    await assert_each_completed_once(db, expected)
    installation.assert_alive()


async def test_stopping_a_worker_while_the_database_is_down_ends_at_the_deadline(
    cluster: PrivatePostgres,
    private_db: tuple[Database, str],
    runtime_settings: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db, db_url = private_db
    settings = runtime_settings.model_copy(  # type: ignore[attr-defined]
        update={"database_url": db_url, "shutdown_write_deadline_s": 1.0}
    )
    bus = EventBus(db)
    await bus.start()
    worker = Worker(settings, db, bus, concurrency=4)
    await worker.start()
    user, workflow = await make_owner_and_workflow(db)
    (execution_id,) = await submit(db, user, workflow, 1)
    await wait_status(db, execution_id, {"processing"})
    await asyncio.to_thread(cluster.stop)
    await asyncio.sleep(1.0)  # nodes finish and queue their writes; nothing can be written
    caplog.set_level(logging.WARNING)

    async with asyncio.timeout(30):  # without the deadline this waits for the database
        await worker.stop(grace_s=0)
        await bus.stop()

    # Either the run was still at work at stop (its results could not be written in
    # time, so they are dropped and the execution is left for its lease to expire), or
    # a write already failed during the outage and the run stopped then; both say so.
    if "stopped here, the database failed" not in caplog.text:
        assert "did not answer" in caplog.text
        assert "dropped the unwritten results of 1 execution(s)" in caplog.text
        assert "could not hand back 1 execution(s)" in caplog.text
