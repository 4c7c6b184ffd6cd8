"""Runtime fixtures: short leases and polls, a started event bus, workers stopped at the end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any

import pytest

from relayflow.config import Settings
from relayflow.runtime.events import EventBus, StoredEvent
from relayflow.runtime.worker import Worker
from relayflow.store import executions, models
from relayflow.store.db import Database

StartWorker = Callable[..., Awaitable[Worker]]


@pytest.fixture
def runtime_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "lease_seconds": 3.0,
            "heartbeat_seconds": 0.3,
            "poll_seconds": 0.5,
            "user_concurrency": 100,
            "shutdown_grace_s": 5.0,
        }
    )


@pytest.fixture
async def bus(db: Database) -> AsyncIterator[EventBus]:
    event_bus = EventBus(db)
    await event_bus.start()
    yield event_bus
    await event_bus.stop()


@pytest.fixture
async def start_worker(
    runtime_settings: Settings, db: Database, bus: EventBus
) -> AsyncIterator[StartWorker]:
    started: list[Worker] = []

    async def start(settings: Settings | None = None, **kw: Any) -> Worker:
        worker = Worker(settings or runtime_settings, db, bus, **kw)
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop(grace_s=0)


async def submit(
    db: Database,
    workflow: models.Workflow,
    user_id: uuid.UUID | None,
    input: Any = None,
    **kw: Any,
) -> uuid.UUID:
    async with db.transaction() as session:
        execution = await executions.create_pending_execution(
            session,
            workflow=workflow,
            input=input if input is not None else {"text": "hi"},
            trigger={"type": "api"},
            user_id=user_id,
            **kw,
        )
    return execution.id


async def final_event(bus: EventBus, execution_id: uuid.UUID, timeout: float = 20) -> StoredEvent:
    """Follow the execution's events until its final status."""
    async with asyncio.timeout(timeout):
        last = None
        async for event in bus.subscribe(execution_id):
            last = event
        assert last is not None
        return last


async def wait_event(
    bus: EventBus, execution_id: uuid.UUID, kind: str, node_id: str, timeout: float = 20
) -> StoredEvent:
    """Follow the execution's events until `kind` for `node_id` (e.g. `node.started`)."""
    async with asyncio.timeout(timeout):
        async for event in bus.subscribe(execution_id):
            if event.kind == kind and event.payload.get("node_id") == node_id:
                return event
    raise AssertionError(f"the execution ended without {kind} for {node_id!r}")


async def wait_status(
    db: Database, execution_id: uuid.UUID, statuses: Collection[str], timeout: float = 20
) -> models.Execution:
    async with asyncio.timeout(timeout):
        while True:
            async with db.session() as session:
                execution = await executions.get_execution(session, execution_id)
            if execution.status in statuses:
                return execution
            await asyncio.sleep(0.05)
