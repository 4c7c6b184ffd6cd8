"""Crash safety with real worker processes killed with SIGKILL mid-run.

50 executions of input -> agent (300 ms) -> http (an idempotent fake on
127.0.0.1 that counts side effects per execution) -> agent (300 ms) -> output.
After the kills every execution must complete, no finished node may have run
twice (one completed node_runs row per execution, node and iteration; one side
effect per execution at the fake) and nothing may be left `processing`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from relayflow.config import Settings
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.node_runs import to_epoch
from relayflow.store.queue import pending
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply
from tests.support.rows import chain_graph, make_user, make_workflow

pytestmark = pytest.mark.slow

EXECUTIONS = 50
CLOCK_SLACK_S = 0.005  # timestamps are stored to the microsecond; rounding only
REPO = Path(__file__).resolve().parents[2]


class SideEffects:
    """An idempotent endpoint: applies each key once, counts every call."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.applied: Counter[str] = Counter()
        self.last_call: dict[str, float] = {}

    async def handle(self, request: ReceivedRequest) -> Reply:
        key = request.json()["key"]
        self.calls[key] += 1
        self.last_call[key] = time.time()
        if self.applied[key] == 0:
            self.applied[key] += 1
        return Reply.json({"key": key, "applied": True})


@pytest.fixture
async def side_effects() -> AsyncIterator[tuple[SideEffects, LocalHttpServer]]:
    effects = SideEffects()
    async with LocalHttpServer(effects.handle) as server:
        yield effects, server


class Workers:
    """`relayflow worker` processes on the test's database."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.env = {
            **os.environ,
            "RELAYFLOW_DATABASE_URL": settings.resolved_database_url,
            "RELAYFLOW_JWT_SECRET": settings.signing_secret(),
            "RELAYFLOW_DATA_DIR": str(tmp_path / "worker-data"),
            "RELAYFLOW_LEASE_SECONDS": "2",
            "RELAYFLOW_HEARTBEAT_SECONDS": "0.5",
            "RELAYFLOW_POLL_SECONDS": "0.5",
            "RELAYFLOW_USER_CONCURRENCY": "1000",
            "RELAYFLOW_HTTP_ALLOWLIST": json.dumps(["127.0.0.1:*"]),
        }
        self.logs = tmp_path
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, concurrency: int = 10) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        command = [sys.executable, "-m", "relayflow.cli", "worker", "--no-migrate"]
        self.processes[name] = subprocess.Popen(
            [*command, "--name", name, "--concurrency", str(concurrency)],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def wait_started(self, *names: str, timeout: float = 60) -> None:
        """Until each worker has logged that it listens and claims (a loaded machine
        may take seconds to start one: a late worker would find nothing left to run)."""
        async with asyncio.timeout(timeout):
            for name in names:
                log = self.logs / f"{name}.log"
                while f"worker {name} started".encode() not in log.read_bytes():
                    if self.processes[name].poll() is not None:
                        raise AssertionError(f"worker {name} exited: {log.read_text()}")
                    await asyncio.sleep(0.1)

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(settings, tmp_path)
    yield group
    group.stop_all()


async def submit_all(db: Database, server: LocalHttpServer) -> list[uuid.UUID]:
    graph = chain_graph(
        ("input", {}),
        ("agent", {"model": "test:sleep-300", "prompt": "first {{ input.n }}"}),
        (
            "http",
            {
                "method": "POST",
                "url": server.url("/effects"),
                "body": {"key": "{{ execution.id }}"},
            },
        ),
        ("agent", {"model": "test:sleep-300", "prompt": "then {{ nodes.n2.output.status }}"}),
        ("output", {"value": "{{ nodes.n3.output }}"}),
    )
    user = await make_user(db)
    workflow = await make_workflow(db, user, graph)
    ids = []
    async with db.transaction() as session:
        for n in range(EXECUTIONS):
            execution = await pending.create_pending_execution(
                session, workflow=workflow, input={"n": n}, trigger={"type": "api"}, user_id=user
            )
            ids.append(execution.id)
    return ids


async def counts_by_status(db: Database) -> dict[str, int]:
    e = models.Execution
    async with db.session() as session:
        rows = await session.execute(select(e.status, func.count()).group_by(e.status))
    return {status: n for status, n in rows.all()}


async def running_on(db: Database, owner: str) -> int:
    e = models.Execution
    async with db.session() as session:
        result = await session.execute(
            select(func.count()).where(e.status == "processing", e.lease_owner == owner)
        )
    return int(result.scalar_one())


async def wait_until(condition: object, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():  # type: ignore[operator]
            await asyncio.sleep(0.1)


async def mid_run_on(db: Database, owner: str) -> None:
    """Wait until some executions are done and `owner` is in the middle of others."""

    async def ready() -> bool:
        return (await counts_by_status(db)).get("completed", 0) >= 5 and (
            await running_on(db, owner) >= 3
        )

    await wait_until(ready, timeout=60)


async def assert_all_done_exactly_once(
    db: Database, ids: list[uuid.UUID], effects: SideEffects
) -> None:
    async def settled() -> bool:
        counts = await counts_by_status(db)
        return counts.get("completed", 0) + counts.get("failed", 0) == EXECUTIONS

    await wait_until(settled, timeout=90)
    assert await counts_by_status(db) == {"completed": EXECUTIONS}  # none left processing
    r = models.NodeRun
    async with db.session() as session:
        rows = await session.execute(
            select(r.execution_id, r.node_id, r.iteration, func.count())
            .where(r.status == "completed")
            .group_by(r.execution_id, r.node_id, r.iteration)
        )
        completed = {(e, n, i): c for e, n, i, c in rows.all()}
        lost = await session.execute(select(func.count()).where(models.Execution.lost_leases > 0))
        http_done = await session.execute(
            select(r.execution_id, r.finished_at).where(r.node_id == "n2", r.status == "completed")
        )
        finished_at = {str(e): to_epoch(at) or 0.0 for e, at in http_done.all()}
    assert len(completed) == EXECUTIONS * 5
    assert set(completed.values()) == {1}  # no finished node ran twice
    assert effects.applied == Counter({str(i): 1 for i in ids})
    assert set(effects.calls) == {str(i) for i in ids}
    # A call may repeat only if the attempt that made it never finished (killed
    # mid-request); once the node's completion was recorded it is never called again.
    for key, last in effects.last_call.items():
        assert last <= finished_at[key] + CLOCK_SLACK_S, f"http node of {key} ran after finishing"
    assert lost.scalar_one() > 0  # the kill did interrupt executions


async def two_workers_mid_run(
    db: Database, workers: Workers, server: LocalHttpServer
) -> list[uuid.UUID]:
    """Submit the executions to workers w1 and w2, once both run; return once w1 is
    mid-run."""
    workers.start("w1")
    workers.start("w2")
    await workers.wait_started("w1", "w2")
    ids = await submit_all(db, server)
    await mid_run_on(db, "w1")
    return ids


@pytest.mark.postgres_only
async def test_killing_one_of_two_workers_loses_and_repeats_nothing(
    db: Database,
    workers: Workers,
    side_effects: tuple[SideEffects, LocalHttpServer],
) -> None:
    effects, server = side_effects
    ids = await two_workers_mid_run(db, workers, server)
    workers.kill("w1")
    await assert_all_done_exactly_once(db, ids, effects)


@pytest.mark.postgres_only
async def test_killing_every_worker_then_starting_a_fresh_one_finishes_everything(
    db: Database,
    workers: Workers,
    side_effects: tuple[SideEffects, LocalHttpServer],
) -> None:
    effects, server = side_effects
    ids = await two_workers_mid_run(db, workers, server)
    workers.kill("w1")
    workers.kill("w2")
    assert (await counts_by_status(db)).get("processing", 0) > 0
    await asyncio.sleep(1.0)
    workers.start("w3", concurrency=20)
    await assert_all_done_exactly_once(db, ids, effects)


async def test_a_restarted_worker_process_finishes_what_the_killed_one_started(
    db: Database,
    workers: Workers,
    side_effects: tuple[SideEffects, LocalHttpServer],
) -> None:
    effects, server = side_effects
    ids = await submit_all(db, server)
    workers.start("w1", concurrency=20)
    await mid_run_on(db, "w1")
    workers.kill("w1")
    workers.start("w1-restarted", concurrency=20)
    await assert_all_done_exactly_once(db, ids, effects)
