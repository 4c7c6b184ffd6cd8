"""Other users during a hostile execution: request latency while a map calls its own
workflow recursively (`range(8)|list if execution.depth < 5 else []`), against the
same requests on the idle server measured in the same run.

A real server (uvicorn, in process) with its embedded worker, on a fresh SQLite file
or a PostgreSQL database (`--database-url`, which must exist and be empty: it is
migrated here). Prints the execution's outcome, its node runs, and the bystander's
`GET /api/v1/executions` latencies (p50, p90, max) idle and during the attack.

Run: `.venv/bin/python bench/budget_attack.py [--database-url URL] [--max-node-runs N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from relayflow import security
from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.domain import Actor, ExecutionStatus, Role
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """The app (lifespan, embedded worker included) under uvicorn on a loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def chain_graph(*kinds: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    nodes = [
        {"id": f"n{i}", "type": kind, "position": {"x": 0, "y": 100 * i}, "data": data}
        for i, (kind, data) in enumerate(kinds)
    ]
    edges = [
        {"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}"} for i in range(len(kinds) - 1)
    ]
    return {"nodes": nodes, "edges": edges}


async def user_headers(db: Database, settings: Settings) -> tuple[uuid.UUID, dict[str, str]]:
    user_id = uuid.uuid4()
    async with db.transaction() as session:
        session.add(
            models.User(id=user_id, email=f"{user_id.hex[:8]}@example.com", password_hash="-")  # noqa: S106 (no sign-in)
        )
    token = security.issue_access_token(settings, Actor(user_id, Role.USER)).token
    return user_id, {"Authorization": f"Bearer {token}"}


async def recursive_workflow(db: Database, owner: uuid.UUID) -> uuid.UUID:
    workflow_id = uuid.uuid4()
    items = "range(8)|list if execution.depth < 5 else []"
    graph = chain_graph(
        ("input", {}),
        ("map", {"items": items, "workflow_id": str(workflow_id)}),
        ("output", {"value": "{{ nodes.n1.output|length }}"}),
    )
    async with db.transaction() as session:
        session.add(
            models.Workflow(
                id=workflow_id,
                user_id=owner,
                name="recursive",
                nodes=graph["nodes"],
                edges=graph["edges"],
            )
        )
    return workflow_id


def figures(label: str, probes: list[float]) -> str:
    ordered = sorted(probes)
    p90 = ordered[max(0, (len(ordered) * 9) // 10 - 1)]
    return (
        f"  {label:<8} {len(probes):4d} requests   p50 {statistics.median(ordered) * 1000:6.0f} ms"
        f"   p90 {p90 * 1000:6.0f} ms   max {ordered[-1] * 1000:6.0f} ms"
    )


async def status_of(db: Database, execution_id: uuid.UUID) -> str:
    async with db.session() as session:
        return str(
            await session.scalar(
                select(models.Execution.status).where(models.Execution.id == execution_id)
            )
        )


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="relayflow-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    overrides: dict[str, Any] = {"scheduler_enabled": False, "poll_seconds": 0.2}
    if args.max_node_runs:
        overrides["max_node_runs_per_execution"] = args.max_node_runs
    settings = Settings(
        database_url=url,
        data_dir=workdir / "data",
        jwt_secret="bench-secret-" + "x" * 40,
        migrate_on_start=False,
        **overrides,
    )
    db = Database(settings.resolved_database_url)
    await upgrade(db)
    attacker, attacker_headers = await user_headers(db, settings)
    _, bystander = await user_headers(db, settings)
    workflow_id = await recursive_workflow(db, attacker)
    async with (
        serve(create_app(settings, db=db)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=120) as client,
    ):
        idle: list[float] = []
        for _ in range(args.idle_requests):
            began = time.perf_counter()
            assert (await client.get("/api/v1/executions", headers=bystander)).is_success
            idle.append(time.perf_counter() - began)
        started = await client.post(
            f"/api/v1/workflows/{workflow_id}/executions",
            json={"input": {}},
            headers=attacker_headers,
        )
        execution_id = uuid.UUID(started.json()["id"])
        began_attack = time.perf_counter()
        during: list[float] = []
        while not ExecutionStatus(await status_of(db, execution_id)).is_final:
            began = time.perf_counter()
            assert (await client.get("/api/v1/executions", headers=bystander)).is_success
            during.append(time.perf_counter() - began)
        took = time.perf_counter() - began_attack
        async with db.session() as session:
            execution = await session.get(models.Execution, execution_id)
            runs = await session.scalar(
                select(func.count())
                .select_from(models.NodeRun)
                .where(models.NodeRun.execution_id == execution_id)
            )
    assert execution is not None
    print(f"recursive map: {execution.status} after {took:.1f} s, {runs} node runs")
    print(f"  reason: {execution.error}")
    print("bystander's GET /api/v1/executions:")
    print(figures("idle", idle))
    print(figures("attack", during))
    await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--max-node-runs", type=int, default=0, help="default: the setting's")
    parser.add_argument("--idle-requests", type=int, default=40)
    asyncio.run(main(parser.parse_args()))
