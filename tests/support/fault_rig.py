"""A relayflow installation in processes for fault tests, and what must hold after a fault.

`relayflow serve` (the API, with or without its worker) and `relayflow worker`
processes on one database; the workload is executions of input -> 4 agents on
`test:sleep-400` in a chain -> output, submitted straight to the database or
delivered to a webhook. `assert_each_completed_once` is the promise of
docs/runtime.md "What survives a crash": every execution completed with the
right output, no node completion recorded twice, nothing left pending or
processing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from relayflow.domain import Actor, Role
from relayflow.store import models, webhooks
from relayflow.store.db import Database
from relayflow.store.queue import pending
from tests.support.live_server import free_port
from tests.support.rows import chain_graph, make_user, make_workflow

REPO = Path(__file__).resolve().parents[2]
AGENTS = 4
NODES = AGENTS + 2  # input, the agents, output
SECRET = "fault-test-secret-" + "x" * 40


def chain_of_agents() -> dict[str, Any]:
    """input -> 4 agents on test:sleep-400, each echoing the one before -> output."""
    agents = [
        ("agent", {"model": "test:sleep-400", "prompt": "n={{ input.n }}"}),
        *(
            ("agent", {"model": "test:sleep-400", "prompt": f"{{{{ nodes.n{i}.output }}}}"})
            for i in range(1, AGENTS)
        ),
    ]
    return chain_graph(
        ("input", {}), *agents, ("output", {"value": f"{{{{ nodes.n{AGENTS}.output }}}}"})
    )


def right_output(output: Any, n: int) -> bool:
    """Each agent echoes the previous answer: four echoes around `n=<n>`."""
    text = str(output)
    return text.count("echo:") == AGENTS and text.endswith(f"n={n}")


class Installation:
    """relayflow processes on one database; logs under `logs/`."""

    def __init__(self, database_url: str, logs: Path, **settings: str) -> None:
        self.env = {
            **os.environ,
            "RELAYFLOW_DATABASE_URL": database_url,
            "RELAYFLOW_JWT_SECRET": SECRET,
            "RELAYFLOW_DATA_DIR": str(logs / "data"),
            "RELAYFLOW_LEASE_SECONDS": "3",
            "RELAYFLOW_HEARTBEAT_SECONDS": "1",
            "RELAYFLOW_POLL_SECONDS": "0.5",
            "RELAYFLOW_USER_CONCURRENCY": "1000",
            "RELAYFLOW_SHUTDOWN_GRACE_S": "2",
            "RELAYFLOW_SHUTDOWN_WRITE_DEADLINE_S": "3",
            **{f"RELAYFLOW_{k.upper()}": v for k, v in settings.items()},
        }
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.base_url = ""

    def _start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "relayflow.cli", *args],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def serve(self, *, worker: bool) -> str:
        port = free_port()
        self._start("serve", "serve", "--port", str(port), "--no-migrate", worker_flag(worker))
        self.base_url = f"http://127.0.0.1:{port}"
        async with asyncio.timeout(60), httpx.AsyncClient(base_url=self.base_url) as client:
            while True:
                self.assert_alive()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return self.base_url
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def worker(self, name: str, *, concurrency: int = 10, metrics_port: int | None = None) -> None:
        extra = ["--metrics-port", str(metrics_port)] if metrics_port else []
        self._start(
            name,
            "worker",
            "--no-migrate",
            "--name",
            name,
            "--concurrency",
            str(concurrency),
            *extra,
        )

    def signal(self, name: str, signum: int) -> None:
        os.kill(self.processes[name].pid, signum)

    def assert_alive(self) -> None:
        exited = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        assert not exited, f"processes exited: {exited} (logs in {self.logs})"

    def stop_all(self) -> None:
        """The end of a test: what had to hold was checked, so no graceful stop is needed."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
        for process in self.processes.values():
            process.wait(timeout=20)


def worker_flag(worker: bool) -> str:
    return "--worker" if worker else "--no-worker"


# ----------------------------------------------------------------- workload
async def make_owner_and_workflow(db: Database) -> tuple[uuid.UUID, models.Workflow]:
    user = await make_user(db)
    return user, await make_workflow(db, user, chain_of_agents())


async def submit(db: Database, user: uuid.UUID, workflow: models.Workflow, count: int) -> dict:
    """`count` executions with inputs n = 0..count-1; returns {execution id: n}."""
    submitted = {}
    async with db.transaction() as session:
        for n in range(count):
            execution = await pending.create_pending_execution(
                session, workflow=workflow, input={"n": n}, trigger={"type": "api"}, user_id=user
            )
            submitted[execution.id] = n
    return submitted


async def make_webhook(db: Database, user: uuid.UUID, workflow: models.Workflow) -> tuple[str, str]:
    """A webhook on the workflow: (its path, its key)."""
    async with db.transaction() as session:
        issued = await webhooks.create_webhook(session, Actor(user, Role.USER), workflow.id)
    return f"/hooks/{issued.webhook.id}", issued.api_key


# ----------------------------------------------------------------- checks
async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.2)


async def counts_by_status(db: Database) -> dict[str, int]:
    e = models.Execution
    async with db.session() as session:
        rows = await session.execute(select(e.status, func.count()).group_by(e.status))
    return {status: n for status, n in rows.all()}


async def settled(db: Database, total: int) -> bool:
    try:
        counts = await counts_by_status(db)
    except Exception:  # the database is still coming back
        return False
    return counts.get("completed", 0) + counts.get("failed", 0) >= total


async def assert_each_completed_once(
    db: Database, expected: dict[uuid.UUID, int], *, timeout: float = 90
) -> None:
    """Every execution completed once with the right output; no node completed twice."""

    async def done() -> bool:
        return await settled(db, len(expected))

    await wait_until(done, timeout)
    assert await counts_by_status(db) == {"completed": len(expected)}  # none pending/processing
    e, r = models.Execution, models.NodeRun
    async with db.session() as session:
        outputs = dict((await session.execute(select(e.id, e.output))).all())
        repeated = (
            await session.execute(
                select(r.execution_id, r.node_id, r.iteration, func.count())
                .where(r.status == "completed")
                .group_by(r.execution_id, r.node_id, r.iteration)
                .having(func.count() > 1)
            )
        ).all()
        per_execution = dict(
            (
                await session.execute(
                    select(r.execution_id, func.count())
                    .where(r.status == "completed")
                    .group_by(r.execution_id)
                )
            ).all()
        )
    assert set(outputs) == set(expected)
    wrong = {eid: outputs[eid] for eid, n in expected.items() if not right_output(outputs[eid], n)}
    assert wrong == {}
    assert repeated == []  # no (execution, node, iteration) completed twice
    short = {eid: count for eid, count in per_execution.items() if count != NODES}
    assert short == {}  # every node of every execution has its one completion
    assert set(per_execution) == set(expected)


async def metric(base_url: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text page (0 when absent)."""
    async with httpx.AsyncClient(timeout=30) as client:
        text = (await client.get(f"{base_url}/metrics")).text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    sample = f"{name}{{{wanted}}}" if wanted else name
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0
