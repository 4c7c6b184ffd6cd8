"""The executions API across processes: start latency, `?wait=` round trips, SSE delivery.

Setup: a scratch database, one `relayflow worker` process and one
`relayflow serve --no-worker` process (so every event crosses from the worker
process to the API process through the database), or with `--single-process`
one `relayflow serve` with its embedded worker (how SQLite is meant to run: on
SQLite other processes are only reached by polling), and this script as the client
over HTTP on 127.0.0.1. Requests are sequential: these are latencies, not
throughput (see bench/throughput.py for that).

Printed figures (p50 / p99 in milliseconds):
- start: `POST /api/v1/workflows/{id}/executions` until its 202 (row committed);
- wait: the same with `?wait=10` for a 3-node workflow with an instant offline
  model, until the 200 carrying the output (queue, claim, run, answer);
- delivery: for each event that happens while a client follows
  `GET /api/v1/executions/{id}/events`, from the worker writing it (the
  event's `created_at`) to the client reading it, for a workflow of two agents
  of 50 ms each.

Run: `.venv/bin/python bench/live_events.py [--db postgres|sqlite] [--runs 200]
[--single-process]`
(PostgreSQL at RELAYFLOW_BENCH_PG, default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from throughput import (  # a sibling bench module
    JWT_SECRET,
    environment,
    free_port,
    relayflow_cli,
    scratch_database,
    stop,
    utcnow,
)

POSITION = {"x": 0, "y": 0}


def chain(*nodes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": f"n{i}", "type": kind, "position": POSITION, "data": data}
            for i, (kind, data) in enumerate(nodes)
        ],
        "edges": [
            {"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}"} for i in range(len(nodes) - 1)
        ],
    }


INSTANT = chain(
    ("input", {}),
    ("agent", {"model": "test:echo", "prompt": "{{ input }}"}),
    ("output", {"value": "{{ nodes.n1.output }}"}),
)
PACED = chain(
    ("input", {}),
    ("agent", {"model": "test:sleep-50", "prompt": "a {{ input }}"}),
    ("agent", {"model": "test:sleep-50", "prompt": "b {{ input }}"}),
    ("output", {"value": "{{ nodes.n2.output }}"}),
)


async def prepare(url: str) -> tuple[str, str, str]:
    """Migrate; a user and two workflows. Returns (instant id, paced id, token)."""
    from relayflow import security
    from relayflow.config import Settings
    from relayflow.domain import Actor
    from relayflow.store import models
    from relayflow.store.db import Database
    from relayflow.store.migrate import upgrade

    db = Database(url)
    try:
        await upgrade(db)
        async with db.transaction() as session:
            user = models.User(email="bench@example.com", password_hash="!", role="user")  # noqa: S106 (never signs in)
            session.add(user)
            await session.flush()
            ids = []
            for graph in (INSTANT, PACED):
                workflow = models.Workflow(
                    user_id=user.id, name="bench", nodes=graph["nodes"], edges=graph["edges"]
                )
                session.add(workflow)
                await session.flush()
                ids.append(str(workflow.id))
            user_id = user.id
    finally:
        await db.dispose()
    settings = Settings(jwt_secret=JWT_SECRET, access_token_minutes=600)  # type: ignore[arg-type]
    token = security.issue_access_token(settings, Actor(user_id=user_id)).token
    return ids[0], ids[1], token


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p99 {p99:7.1f} ms   (n={len(ordered)})"


async def follow(http: httpx.AsyncClient, execution_id: str) -> list[float]:
    """Delivery delays (ms) of the events written after the stream opened."""
    delays: list[float] = []
    async with http.stream("GET", f"/api/v1/executions/{execution_id}/events") as response:
        opened_at = utcnow()
        buffer = ""
        async for chunk in response.aiter_text():
            buffer += chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                received = utcnow()
                for line in block.split("\n"):
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        written = dt.datetime.fromisoformat(event["created_at"])
                        if written >= opened_at:
                            delays.append((received - written).total_seconds() * 1000)
    return delays


async def measure(base_url: str, token: str, instant: str, paced: str, runs: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        starts: list[float] = []
        waits: list[float] = []
        delays: list[float] = []
        for i in range(runs):
            began = time.perf_counter()
            answer = await http.post(f"/api/v1/workflows/{instant}/executions", json={"input": i})
            starts.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 202, answer.text
        for i in range(runs):
            began = time.perf_counter()
            answer = await http.post(
                f"/api/v1/workflows/{instant}/executions?wait=10", json={"input": i}
            )
            waits.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200, answer.text
        for i in range(max(1, runs // 4)):
            answer = await http.post(f"/api/v1/workflows/{paced}/executions", json={"input": i})
            delays += await follow(http, answer.json()["id"])
    print(f"start (202, committed)        {percentiles(starts)}")
    print(f"?wait=10, 3 nodes (200)       {percentiles(waits)}")
    print(f"SSE delivery (write -> read)  {percentiles(delays)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument(
        "--single-process",
        action="store_true",
        help="one `relayflow serve` with its embedded worker (the SQLite set-up)",
    )
    args = parser.parse_args()
    scratch = await scratch_database(args.db)
    processes: list[subprocess.Popen[bytes]] = []
    data_dir = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    try:
        instant, paced, token = await prepare(scratch.url)
        env = environment(scratch.url, data_dir, concurrency=8)
        port = free_port()
        worker = [*relayflow_cli(), "worker", "--no-migrate"]
        api = [*relayflow_cli(), "serve", "--no-worker", "--no-migrate", "--port", str(port)]
        commands = [worker, api]
        if args.single_process:  # `relayflow serve` with its embedded worker
            env["RELAYFLOW_EMBEDDED_WORKER"] = "true"
            commands = [[c for c in api if c != "--no-worker"]]
        for command in commands:
            processes.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))
        base_url = f"http://127.0.0.1:{port}"
        async with asyncio.timeout(120), httpx.AsyncClient(base_url=base_url) as probe:
            while True:
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        shape = "1 process (embedded worker)" if args.single_process else "1 worker + 1 API process"
        print(f"database: {args.db}; {shape}; {args.runs} runs each")
        await measure(base_url, token, instant, paced, args.runs)
    finally:
        stop(processes)
        await scratch.drop()


if __name__ == "__main__":
    asyncio.run(main())
