"""A 100-way fan-out of 100 ms agents through the durable runtime, before and after
the workflow's own `max_parallel_nodes`.

The workflow is input -> 100 agent nodes (`test:sleep-100`, an offline model that
answers after 100 ms) -> merge -> output. A real worker (journal, node runs,
events) runs it on a scratch database, first with the server's default of 16
nodes at once (7 waves), then with the workflow's `max_parallel_nodes = 100`, in
the same run. Reported per setting (median of --repeat runs): claim -> completed
(the runtime's time, from the rows' `claimed_at` and `completed_at`), submit ->
completed as the caller sees it, and the CPU this process spent per execution
(all threads: the event loop and the SQLite connection threads). On a busy
machine the wall times grow with the CPU others take; compare within one run.

Run: `.venv/bin/python bench/fanout.py [--db sqlite|postgres] [--repeat 5]`.
PostgreSQL is RELAYFLOW_BENCH_PG (default postgres@127.0.0.1:5432); a scratch
database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from relayflow.config import Settings
from relayflow.runtime.events import EventBus
from relayflow.runtime.worker import Worker
from relayflow.store import executions, models
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade

PG_SERVER = os.environ.get("RELAYFLOW_BENCH_PG", "postgres@127.0.0.1:5432")
FAN_OUT = 100
MODEL = "test:sleep-100"
SERVER_DEFAULT = 16


def fan_out_graph() -> dict[str, Any]:
    def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
        return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data}

    ids = [f"a{i}" for i in range(FAN_OUT)]
    nodes = [node("in", "input"), node("join", "merge", mode="all"), node("out", "output")]
    nodes += [node(n, "agent", model=MODEL, prompt="part {{ input.n }}") for n in ids]
    pairs = [("in", n) for n in ids] + [(n, "join") for n in ids] + [("join", "out")]
    edges = [{"id": f"{a}->{b}", "source": a, "target": b} for a, b in pairs]
    return {"nodes": nodes, "edges": edges}


async def scratch_url(kind: str, workdir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'fanout.db'}", None
    name = f"rf_fanout_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{PG_SERVER}/{name}", name


async def drop_pg(name: str) -> None:
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def run_once(db: Database, bus: EventBus, workflow: models.Workflow) -> tuple[float, float]:
    """One execution: (claim -> completed, submit -> completed) in seconds."""
    submitted = time.perf_counter()
    async with db.transaction() as session:
        execution = await executions.create_pending_execution(
            session, workflow=workflow, input={"n": 1}, trigger={"type": "api"}, user_id=None
        )
    async for _event in bus.subscribe(execution.id):  # ends with the final status
        pass
    seen = time.perf_counter() - submitted
    async with db.session() as session:
        row = await session.get(models.Execution, execution.id)
    assert row is not None
    assert row.status == "completed", row.error
    assert row.claimed_at is not None
    assert row.completed_at is not None
    return (row.completed_at - row.claimed_at).total_seconds(), seen


async def measure(db: Database, bus: EventBus, own: int | None, repeat: int) -> None:
    graph = fan_out_graph()
    workflow = models.Workflow(
        id=uuid.uuid4(),
        name="fan-out",
        nodes=graph["nodes"],
        edges=graph["edges"],
        max_parallel_nodes=own,
    )
    async with db.transaction() as session:
        session.add(workflow)
    await run_once(db, bus, workflow)  # warm-up: imports, template compilation, caches
    cpu = time.process_time()
    runs = [await run_once(db, bus, workflow) for _ in range(repeat)]
    cpu_ms = (time.process_time() - cpu) / repeat * 1000
    runtime = statistics.median(r[0] for r in runs)
    seen = statistics.median(r[1] for r in runs)
    label = f"workflow max_parallel_nodes={own}" if own else f"server default ({SERVER_DEFAULT})"
    print(
        f"  {label:34} claim->completed {runtime * 1000:7.1f} ms"
        f"   submit->completed {seen * 1000:7.1f} ms   CPU {cpu_ms:5.1f} ms/execution"
    )


async def main(kind: str, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = await scratch_url(kind, Path(tmp))
        db = Database(url)
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp),
            max_parallel_nodes=SERVER_DEFAULT,
            poll_seconds=0.2,
            user_concurrency=1000,
        )
        bus = EventBus(db)
        worker = Worker(settings, db, bus, concurrency=1)
        try:
            await upgrade(db)
            await bus.start()
            await worker.start()
            print(f"fan-out of {FAN_OUT} x {MODEL} on {kind} (median of {repeat}; goal < 150 ms)")
            await measure(db, bus, None, repeat)  # before: the server-wide default
            await measure(db, bus, FAN_OUT, repeat)  # after: the workflow's own setting
        finally:
            await worker.stop(grace_s=0)
            await bus.stop()
            await db.dispose()
            if pg_name:
                await drop_pg(pg_name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.db, args.repeat))
