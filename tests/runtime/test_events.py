"""The event bus: stored events replayed after an id, live ones followed, across processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from relayflow import errors
from relayflow.domain import ExecutionStatus
from relayflow.runtime.events import EventBus, StoredEvent
from relayflow.store.db import Database
from relayflow.store.queue import leases, rows
from tests.runtime.conftest import submit
from tests.support.rows import make_user, make_workflow

REPO = Path(__file__).resolve().parents[2]


async def claimed_execution(db: Database) -> tuple[uuid.UUID, int]:
    user = await make_user(db)
    workflow = await make_workflow(db, user)
    execution_id = await submit(db, workflow, user)
    (claimed,) = (await db.queue.claim(owner="w", limit=1, lease_seconds=30)).executions
    return execution_id, claimed.lease_token


async def finish(db: Database, execution_id: uuid.UUID, token: int) -> None:
    async with db.transaction() as session:
        await leases.finish_execution(
            session,
            rows.Outcome(execution_id, token, ExecutionStatus.COMPLETED, output="done"),
        )


async def collect(bus: EventBus, execution_id: uuid.UUID, after_id: int = 0) -> list[StoredEvent]:
    # Generous: another process may publish them, and it starts slowly on a loaded machine.
    async with asyncio.timeout(90):
        return [event async for event in bus.subscribe(execution_id, after_id=after_id)]


async def test_a_subscriber_gets_stored_then_live_events_in_order_and_stops_at_the_end(
    db: Database, bus: EventBus
) -> None:
    execution_id, token = await claimed_execution(db)
    first = await bus.publish(execution_id, "node.started", {"node_id": "a"})
    follower = asyncio.create_task(collect(bus, execution_id))
    await asyncio.sleep(0.2)
    second = await bus.publish(execution_id, "node.finished", {"node_id": "a", "output": 1})
    await finish(db, execution_id, token)
    got = await follower
    assert [e.kind for e in got] == ["node.started", "node.finished", "execution.status"]
    assert [e.id for e in got][:2] == [first, second]
    assert got[-1].payload == {"status": "completed", "output": "done"}
    assert got[-1].is_final


async def test_reconnecting_after_an_id_misses_nothing_and_repeats_nothing(
    db: Database, bus: EventBus
) -> None:
    execution_id, token = await claimed_execution(db)
    ids = [await bus.publish(execution_id, "agent.delta", {"text": str(i)}) for i in range(5)]
    await finish(db, execution_id, token)
    resumed = await collect(bus, execution_id, after_id=ids[2])
    assert [e.payload.get("text") for e in resumed] == ["3", "4", None]


async def test_a_finished_or_unknown_execution_ends_the_stream(db: Database, bus: EventBus) -> None:
    execution_id, token = await claimed_execution(db)
    await finish(db, execution_id, token)
    (only,) = await collect(bus, execution_id)
    assert only.payload["status"] == "completed"
    assert await collect(bus, execution_id, after_id=only.id) == []
    assert await collect(bus, uuid.uuid4()) == []


async def test_publishing_to_an_unknown_execution_is_refused(bus: EventBus) -> None:
    with pytest.raises(errors.NotFound):
        await bus.publish(uuid.uuid4(), "node.started", {})


PUBLISHER = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from relayflow.domain import ExecutionStatus
    from relayflow.runtime.events import EventBus
    from relayflow.store.queue import leases, pending, rows
    from relayflow.store.db import Database

    async def main(url, execution_id, token):
        db = Database(url)
        bus = EventBus(db)
        await bus.start()
        for i in range(20):
            await bus.publish(execution_id, "agent.delta", {"text": str(i)})
            await asyncio.sleep(0.01)
        async with db.transaction() as session:
            await leases.finish_execution(session, rows.Outcome(
                execution_id, token, ExecutionStatus.COMPLETED, output="from afar"))
        await bus.stop()
        await db.dispose()

    asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2]), int(sys.argv[3])))
    """
)


async def test_events_published_by_another_process_reach_a_subscriber_here(
    db: Database, bus: EventBus
) -> None:
    execution_id, token = await claimed_execution(db)
    follower = asyncio.create_task(collect(bus, execution_id))
    await asyncio.sleep(0.2)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PUBLISHER,
        db.url,
        str(execution_id),
        str(token),
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    got = await follower
    assert [e.payload.get("text") for e in got[:-1]] == [str(i) for i in range(20)]
    assert got[-1].payload == {"status": "completed", "output": "from afar"}
