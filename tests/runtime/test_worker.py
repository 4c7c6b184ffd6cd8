"""The worker: runs queued executions durably, cancels, hands back, resumes, reruns."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging

import pytest
from sqlalchemy import update

from relayflow.config import Settings
from relayflow.domain import Actor, NodeRunStatus, utcnow
from relayflow.engine.ports import NodeRunRecord
from relayflow.runtime.events import EventBus
from relayflow.store import execution_control, models
from relayflow.store.db import Database
from relayflow.store.node_runs import SqlRunStore
from relayflow.store.queue import events, leases, pending
from tests.runtime.conftest import StartWorker, final_event, submit, wait_event, wait_status
from tests.support.rows import (
    chain_graph,
    completed_count,
    echo_graph,
    make_user,
    make_workflow,
    node_runs,
)


def slow_graph(ms: int) -> dict[str, object]:
    return echo_graph(f"test:sleep-{ms}")


async def test_a_queued_execution_runs_to_completion_with_node_runs_and_events(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await start_worker()
    execution_id = await submit(db, workflow, user, {"text": "hello"})
    final = await final_event(bus, execution_id)
    assert final.payload == {"status": "completed", "output": "[assistant] echo: hello"}
    async with db.session() as session:
        execution = await pending.get_execution(session, execution_id)
        stored = await events.fetch_events(session, execution_id)
    assert execution.status == "completed"
    assert execution.output == "[assistant] echo: hello"
    assert execution.input_tokens > 0
    assert execution.claimed_at is not None
    assert execution.started_at is not None
    assert execution.started_at <= execution.claimed_at <= execution.completed_at
    runs = await node_runs(db, execution_id)
    assert [(r.node_id, r.status) for r in runs] == [
        ("n0", "completed"),
        ("n1", "completed"),
        ("n2", "completed"),
    ]
    kinds = [(e.kind, e.payload.get("node_id") or e.payload.get("status")) for e in stored]
    assert kinds[0] == ("execution.status", "processing")
    assert kinds[-1] == ("execution.status", "completed")
    assert ("node.finished", "n1") in kinds
    assert [e.id for e in stored] == sorted(e.id for e in stored)


async def test_cancel_stops_the_running_node(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, slow_graph(30_000))
    await start_worker()
    execution_id = await submit(db, workflow, user)
    await wait_event(bus, execution_id, "node.started", "n1")  # the 30 s agent is running
    async with db.transaction() as session:  # what the cancel endpoint does
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == execution_id)
            .values(cancel_requested=True)
        )
        await pending.request_cancel_signal(session, execution_id)
    final = await final_event(bus, execution_id)
    assert final.payload["status"] == "cancelled"
    cancelled = await wait_status(db, execution_id, {"cancelled"})
    assert cancelled.completed_at is not None
    agent = [r for r in await node_runs(db, execution_id) if r.node_id == "n1"]
    assert [r.status for r in agent] == ["cancelled"]
    (run,) = agent
    assert run.started_at is not None
    assert run.finished_at is not None
    # Stopped, not run to its end: the model answers only after 30 s.
    assert run.finished_at - run.started_at < dt.timedelta(seconds=30)


async def test_a_cancel_requested_before_the_claim_never_runs_a_node(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    execution_id = await submit(db, workflow, user)
    async with db.transaction() as session:
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == execution_id)
            .values(cancel_requested=True)
        )
    await start_worker()
    assert (await final_event(bus, execution_id)).payload["status"] == "cancelled"
    assert await node_runs(db, execution_id) == []


async def test_graceful_shutdown_hands_work_back_and_another_worker_resumes_it(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, slow_graph(1500))
    first = await start_worker(name="first")
    execution_id = await submit(db, workflow, user)
    await wait_status(db, execution_id, {"processing"})
    async with asyncio.timeout(10):  # the input node finished, the agent runs
        while completed_count(await node_runs(db, execution_id), "n0") == 0:
            await asyncio.sleep(0.05)
    await first.stop(grace_s=0.1)
    back = await wait_status(db, execution_id, {"pending"})
    assert (back.lost_leases, back.lease_owner) == (0, None)
    async with db.session() as session:
        reasons = [e.payload.get("reason", "") for e in await events.fetch_events(session, back.id)]
    assert any("first shut down" in reason for reason in reasons)

    await start_worker(name="second")
    assert (await final_event(bus, execution_id)).payload["status"] == "completed"
    runs = await node_runs(db, execution_id)
    assert completed_count(runs, "n0") == 1  # not run again
    agent = [(r.status, r.error or "") for r in runs if r.node_id == "n1"]
    assert agent[-1] == ("completed", "")
    assert all(status in ("completed", "failed") for status, _ in agent)


async def test_shutdown_lets_short_executions_finish_within_the_grace_period(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, slow_graph(300))
    worker = await start_worker()
    execution_id = await submit(db, workflow, user)
    await wait_status(db, execution_id, {"processing"})
    await worker.stop(grace_s=10)
    done = await wait_status(db, execution_id, {"completed", "pending"}, timeout=1)
    assert done.status == "completed"


async def test_a_worker_that_lost_its_lease_stops_and_writes_nothing_more(
    db: Database, runtime_settings: Settings, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, slow_graph(1500))
    worker = await start_worker()
    execution_id = await submit(db, workflow, user)
    claimed = await wait_status(db, execution_id, {"processing"})
    async with db.transaction() as session:  # another worker took it over
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == execution_id)
            .values(lease_owner="thief", lease_token=claimed.lease_token + 1)
        )
    async with asyncio.timeout(5):
        while execution_id in worker.running_ids:
            await asyncio.sleep(0.05)
    # Stopping writes out whatever the worker still held: nothing of this run remains.
    await worker.stop(grace_s=0)
    after = await wait_status(db, execution_id, {"processing"})
    assert (after.lease_owner, after.output) == ("thief", None)
    assert completed_count(await node_runs(db, execution_id), "n1") == 0


async def test_a_crashed_run_resumes_from_its_last_finished_node(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    execution_id = await submit(db, workflow, user, {"text": "again"})
    # A worker claimed it, finished the input node, started the agent, then died.
    (dead,) = (await db.queue.claim(owner="dead", limit=1, lease_seconds=30)).executions
    store = SqlRunStore(db)
    now = utcnow().timestamp()
    await store.record(
        NodeRunRecord(
            execution_id,
            "n0",
            0,
            1,
            NodeRunStatus.COMPLETED,
            output={"text": "again"},
            started_at=now,
            finished_at=now,
        ),
        fence=dead.lease_token,
    )
    await store.record(
        NodeRunRecord(execution_id, "n1", 0, 1, NodeRunStatus.RUNNING, started_at=now),
        fence=dead.lease_token,
    )
    async with db.transaction() as session:
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == execution_id)
            .values(lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        await leases.reap_expired_leases(session, max_lost_leases=3)
    await start_worker()
    final = await final_event(bus, execution_id)
    assert final.payload["output"] == "[assistant] echo: again"
    runs = await node_runs(db, execution_id)
    assert [r.status for r in runs if r.node_id == "n0"] == ["completed"]
    agent = [(r.status, r.error or "") for r in runs if r.node_id == "n1"]
    assert agent[0][0] == "failed"
    assert "interrupted" in agent[0][1]
    assert agent[1:] == [("completed", "")]


async def test_a_rerun_from_a_node_reuses_the_results_upstream_of_it(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await start_worker()
    original = await submit(db, workflow, user, {"text": "first"})
    await final_event(bus, original)
    async with db.transaction() as session:
        created = await execution_control.rerun_execution(
            session, Actor(user), original, from_node="n1"
        )
    rerun = created.id
    assert (await final_event(bus, rerun)).payload["status"] == "completed"
    runs = {r.node_id: r for r in await node_runs(db, rerun)}
    assert runs["n0"].details == {"reused_from": str(original)}
    assert runs["n1"].details != {"reused_from": str(original)}
    original_runs = {r.node_id: r for r in await node_runs(db, original)}
    assert runs["n1"].started_at is not None
    assert original_runs["n1"].finished_at is not None
    assert runs["n1"].started_at > original_runs["n1"].finished_at  # ran again


async def test_an_approval_pauses_the_run_and_a_decision_resumes_it(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    graph = chain_graph(
        ("input", {}),
        ("approval", {"message": "ship it?"}),
        ("output", {"value": "{{ nodes.n1.output.approved }}"}),
    )
    workflow = await make_workflow(db, user, graph)
    await start_worker()
    execution_id = await submit(db, workflow, user)
    waiting = await wait_status(db, execution_id, {"waiting"})
    assert waiting.waiting_on == ["n1"]
    assert waiting.completed_at is None
    async with db.transaction() as session:  # what the approvals endpoint does
        await session.execute(
            update(models.Execution)
            .where(models.Execution.id == execution_id)
            .values(
                status="pending",
                decisions={"n1": {"approved": True, "comment": "ok", "decided_by": str(user)}},
            )
        )
        await pending.wake_workers(session)
    final = await final_event(bus, execution_id)
    assert final.payload == {"status": "completed", "output": True}
    runs = await node_runs(db, execution_id)
    assert completed_count(runs, "n0") == 1
    assert [r.status for r in runs if r.node_id == "n1"] == ["waiting", "completed"]


async def test_the_per_user_cap_keeps_a_users_executions_from_overlapping(
    db: Database, runtime_settings: Settings, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, slow_graph(200))
    ids = [await submit(db, workflow, user) for _ in range(3)]
    await start_worker(runtime_settings.model_copy(update={"user_concurrency": 1}), concurrency=4)
    done = [await wait_status(db, execution_id, {"completed"}) for execution_id in ids]
    # When each execution's first node began (after its claim was committed, so never
    # before the previous one's outcome was) and when it ended: the spans never overlap.
    spans = []
    for execution in done:
        starts = [r.started_at for r in await node_runs(db, execution.id) if r.started_at]
        spans.append((min(starts), execution.completed_at))
    spans.sort()
    for (_, ended), (started, _) in itertools.pairwise(spans):
        assert ended is not None
        assert started >= ended


async def test_executions_of_a_burst_all_complete(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    ids = [await submit(db, workflow, user, {"text": f"#{i}"}) for i in range(40)]
    await start_worker(concurrency=16)
    finals = await asyncio.gather(*(final_event(bus, execution_id) for execution_id in ids))
    assert [f.payload["output"] for f in finals] == [f"[assistant] echo: #{i}" for i in range(40)]


class _Records(logging.Handler):
    """Log records of one logger, with an event set when a record matching `wanted` arrives."""

    def __init__(self, wanted: str) -> None:
        super().__init__(logging.WARNING)
        self.wanted = wanted
        self.records: list[logging.LogRecord] = []
        self.arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.wanted in record.getMessage():
            self.arrived.set()


async def test_a_failed_read_of_cancel_requests_is_logged_with_its_executions_and_the_run_goes_on(
    db: Database, bus: EventBus, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, slow_graph(300))

    async def unavailable(*_: object) -> set[object]:
        raise OSError("database unavailable")

    monkeypatch.setattr(leases, "cancel_requested_among", unavailable)
    records = _Records("could not read the cancel requests")
    logger = logging.getLogger("relayflow.runtime.worker")
    logger.addHandler(records)
    try:
        worker = await start_worker()
        execution_id = await submit(db, workflow, user)
        await wait_status(db, execution_id, ("processing",))
        worker._on_cancel("")  # what a reconnected listener does; SQLite also polls
        async with asyncio.timeout(10):
            await records.arrived.wait()
        final = await final_event(bus, execution_id)
    finally:
        logger.removeHandler(records)

    record = next(r for r in records.records if "cancel requests" in r.getMessage())
    assert str(execution_id) in record.getMessage()
    assert "database unavailable" in record.getMessage()
    assert record.execution_ids == [str(execution_id)]
    assert record.worker == worker.name
    assert final.payload["status"] == "completed"


async def test_a_run_whose_outcome_commits_during_a_heartbeat_is_not_reported_as_lost(
    db: Database, start_worker: StartWorker, caplog: pytest.LogCaptureFixture
) -> None:
    # The outcome's batch commits, then its acknowledgement is held back for three
    # heartbeats: each renewal then finds the row settled, which is not a lost lease.
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    queue = db.queue
    write_batch = queue.write_batch
    held = asyncio.Event()

    async def slow_acknowledgement(batch):  # type: ignore[no-untyped-def]
        written = await write_batch(batch)
        if batch.outcomes:
            held.set()
            await asyncio.sleep(1.0)  # heartbeat_seconds is 0.3
        return written

    queue.write_batch = slow_acknowledgement  # type: ignore[method-assign]
    worker = await start_worker()
    caplog.set_level(logging.WARNING, logger="relayflow.runtime.worker")
    execution_id = await submit(db, workflow, user, {"text": "hello"})
    async with asyncio.timeout(20):
        await held.wait()
        while execution_id in worker.running_ids:
            await asyncio.sleep(0.05)

    assert (await wait_status(db, execution_id, {"completed"})).status == "completed"
    assert not [r for r in caplog.records if "lost the lease" in r.getMessage()]
