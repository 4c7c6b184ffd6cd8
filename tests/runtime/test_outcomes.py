"""Requests waiting for outcomes (`?wait`) are woken when the outcome commits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.runtime import notifications
from relayflow.runtime.events import EventBus
from relayflow.security import hash_api_key
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.execution_control import cancel_execution
from relayflow.store.queue import signals
from relayflow.store.queue.intake import NewExecution, WebhookTarget
from relayflow.store.webhooks import create_webhook
from tests.runtime.conftest import StartWorker, submit
from tests.support.rows import echo_graph, make_user, make_workflow


@pytest.fixture
async def other_process(db: Database) -> AsyncIterator[EventBus]:
    """The API of another process: its own Database and bus on the same database."""
    other = Database(db.url)
    bus = EventBus(other)
    await bus.start()
    yield bus
    await bus.stop()
    await other.dispose()


async def test_a_run_of_this_process_answers_its_waiting_request(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await start_worker()
    execution_id = await submit(db, workflow, user, {"text": "here"})
    outcome = await bus.outcomes.wait(execution_id, 20, final_only=True)
    assert outcome == {"status": "completed", "output": "[assistant] echo: here"}


def _count_reads(db: Database) -> list[int]:
    """How many outcomes the queue of `db` read from the database (a pass-through spy)."""
    reads: list[int] = []
    queue = db.queue
    read = queue.settled_outcomes

    async def counted(ids: list[uuid.UUID]) -> Any:
        reads.append(len(ids))
        return await read(ids)

    queue.settled_outcomes = counted  # type: ignore[method-assign]
    return reads


async def test_runs_of_another_process_answer_from_their_notifications_without_a_read(
    db: Database,
    start_worker: StartWorker,
    other_process: EventBus,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQLite's commit watch (the safety net for a lost signal, every 0.5 s) makes
    # waiting requests re-read their rows by design; on a loaded machine the five
    # runs outlast a tick of it. Kept out of the way: the notifications must suffice.
    monkeypatch.setattr(notifications, "SQLITE_CHANGE_POLL_WITH_BUS_S", 600.0)
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await other_process.outcomes.wait(uuid.uuid4(), 0.01)  # it listens from its first wait
    reads = _count_reads(other_process.db)
    await start_worker()
    execution_ids = [await submit(db, workflow, user, {"text": f"n{i}"}) for i in range(5)]
    outcomes = [await other_process.outcomes.wait(e, 20, final_only=True) for e in execution_ids]
    assert outcomes == [
        {"status": "completed", "output": f"[assistant] echo: n{i}"} for i in range(5)
    ]
    assert reads == []  # every outcome came with its notification


async def test_an_outcome_too_large_to_notify_is_read_by_the_other_process(
    db: Database, start_worker: StartWorker, other_process: EventBus
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await other_process.outcomes.wait(uuid.uuid4(), 0.01)
    reads = _count_reads(other_process.db)
    await start_worker()
    text = "x" * (signals.MAX_INLINE_SETTLED + 100)
    execution_id = await submit(db, workflow, user, {"text": text})
    outcome = await other_process.outcomes.wait(execution_id, 20, final_only=True)
    assert outcome == {"status": "completed", "output": f"[assistant] echo: {text}"}
    assert sum(reads) >= 1


async def test_a_run_that_paused_then_finished_elsewhere_answers_a_final_wait(
    db: Database, other_process: EventBus
) -> None:
    # Announcements as a worker of another process sends them: first the pause for an
    # approval (heard before anyone waits, so remembered), then the outcome.
    execution_id = uuid.uuid4()
    outcomes = other_process.outcomes
    await outcomes.wait(uuid.uuid4(), 0.01)  # it listens from its first wait
    paused = {"status": "waiting", "waiting_on": ["approve"]}
    db.signals.send_committed(*signals.settled_signal(execution_id, paused))
    await db.signals.flush()
    assert await outcomes.wait(execution_id, 5) == paused  # remembered, not read

    async def finish_soon() -> None:
        await asyncio.sleep(0.3)
        done = {"status": "completed", "output": {"ok": True}}
        db.signals.send_committed(*signals.settled_signal(execution_id, done))

    finishing = asyncio.create_task(finish_soon())
    outcome = await outcomes.wait(execution_id, 10, final_only=True)
    await finishing
    assert outcome == {"status": "completed", "output": {"ok": True}}


async def test_a_run_that_settled_before_the_wait_is_read_once(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    await start_worker()
    execution_id = await submit(db, workflow, user, {"text": "early"})
    assert await bus.outcomes.wait(execution_id, 20)
    fresh = EventBus(db)  # knows nothing of it
    await fresh.start()
    try:
        outcome = await fresh.outcomes.wait(execution_id, 5, read_first=True)
    finally:
        await fresh.stop()
    assert outcome == {"status": "completed", "output": "[assistant] echo: early"}


async def test_cancelling_a_pending_run_answers_its_waiting_request(
    db: Database, bus: EventBus
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, echo_graph())
    execution_id = await submit(db, workflow, user)
    await bus.outcomes.wait(execution_id, 0.01)  # listening; no worker: it stays pending
    async with db.transaction() as session:
        await cancel_execution(session, Actor(user, Role.USER), execution_id)
    outcome = await bus.outcomes.wait(execution_id, 20, final_only=True)
    assert outcome is not None
    assert outcome["status"] == "cancelled"


async def test_a_wait_without_an_outcome_ends_at_its_timeout(db: Database, bus: EventBus) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    execution_id = await submit(db, workflow, user)  # no worker runs it
    assert await bus.outcomes.wait(execution_id, 0.2) is None


async def _hook_target(db: Database, user: uuid.UUID) -> WebhookTarget:
    workflow = await make_workflow(db, user)
    async with db.transaction() as session:
        issued = await create_webhook(session, Actor(user, Role.USER), workflow.id)
    target = await db.queue.find_webhook(issued.webhook.id, hash_api_key(issued.api_key))
    assert target is not None
    return target


async def test_a_waited_for_run_goes_to_the_worker_of_this_process_directly(
    db: Database, bus: EventBus, start_worker: StartWorker
) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only: on PostgreSQL other processes' claims could pass the cap")
    user = await make_user(db)
    target = await _hook_target(db, user)
    worker = await start_worker()
    new = NewExecution(uuid.uuid4(), {"text": "direct"}, {"type": "webhook"}, wait=True)
    await db.queue.create_from_webhook(target, new)
    outcome = await bus.outcomes.wait(new.execution_id, 20, final_only=True)
    assert outcome == {"status": "completed", "output": "[assistant] echo: direct"}
    async with db.session() as session:
        row = await session.get(models.Execution, new.execution_id)
    assert row is not None
    assert (row.lease_token, row.claimed_at) == (1, row.started_at)  # never pending
    assert worker.claimed_total == 1


async def test_a_user_at_the_cap_is_queued_not_handed_over(
    db: Database, bus: EventBus, runtime_settings: Settings, start_worker: StartWorker
) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only: on PostgreSQL other processes' claims could pass the cap")
    user = await make_user(db)
    target = await _hook_target(db, user)
    await start_worker(runtime_settings.model_copy(update={"user_concurrency": 0}))
    new = NewExecution(uuid.uuid4(), {"text": "later"}, {"type": "webhook"}, wait=True)
    await db.queue.create_from_webhook(target, new)
    async with db.session() as session:
        row = await session.get(models.Execution, new.execution_id)
    assert row is not None
    assert row.status == "pending"
