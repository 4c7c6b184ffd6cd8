"""Executions per second on the durable runtime, and the time from POST to completed.

The workflow has 3 nodes: input -> agent (`test:echo`, an instant offline model)
-> output. Every execution is submitted as a real `POST
/api/v1/workflows/{id}/executions` to `relayflow serve --no-worker` (uvicorn, one
process) and run by 1, 2 and 4 `relayflow worker` processes (or, with
`--workers 0`, by the worker embedded in that server), all on this machine with
the database.

For each worker count, on a fresh database:
- drain: N executions are queued straight into the database, then the workers
  start; the figure is N divided by the time from the first claim to the last
  `completed_at`. This is the runtime alone (claims, engine, node runs, events).
- POST+run: N executions are POSTed by 32 concurrent clients as fast as the API
  answers and run as they arrive; the figure is N divided by the time from the
  first POST to the last `completed_at`. API and workers share the CPUs.
- latency: executions are POSTed at a steady rate below capacity (half the
  POST+run figure, unless `--rate` is given); reported are p50 and p99 of POST ->
  completed (the client's clock before sending to the row's `completed_at`),
  POST -> claimed by a worker (`claimed_at`, the start latency), and the claim
  latency proper (`claimed_at - started_at`, queue row to claim).
- CPU per execution of the API process and of all worker processes during the
  POST+run phase (from /proc), to show where the CPUs go.

Run: `.venv/bin/python bench/throughput.py [--db postgres|sqlite] [--workers 1,2,4]
[--executions 3000] [--concurrency 64] [--seconds 6]`. PostgreSQL is
RELAYFLOW_BENCH_PG (default postgres@127.0.0.1:5432); a scratch database is
created and dropped. The load generator is a minimal keep-alive HTTP/1.1 client
in this process (asyncio streams), so it takes little of the CPU it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select

PG_SERVER = os.environ.get("RELAYFLOW_BENCH_PG", "postgres@127.0.0.1:5432")
JWT_SECRET = "bench-secret-" + "x" * 40
CLIENTS = 32
REPO = Path(__file__).resolve().parents[1]
GRAPH = {
    "nodes": [
        {"id": "in", "type": "input", "position": {"x": 0, "y": 0}, "data": {}},
        {
            "id": "agent",
            "type": "agent",
            "position": {"x": 0, "y": 100},
            "data": {"model": "test:echo", "prompt": "{{ input.text }}"},
        },
        {
            "id": "out",
            "type": "output",
            "position": {"x": 0, "y": 200},
            "data": {"value": "{{ nodes.agent.output }}"},
        },
    ],
    "edges": [
        {"id": "e1", "source": "in", "target": "agent"},
        {"id": "e2", "source": "agent", "target": "out"},
    ],
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relayflow_cli() -> list[str]:
    return [sys.executable, "-m", "relayflow.cli"]


# ----------------------------------------------------------------- databases
@dataclass
class Scratch:
    url: str
    pg_name: str | None = None
    directory: Path | None = None

    async def drop(self) -> None:
        if self.pg_name:
            conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            finally:
                await conn.close()
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


async def scratch_database(kind: str) -> Scratch:
    if kind == "postgres":
        name = f"rf_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return Scratch(f"postgresql+asyncpg://{PG_SERVER}/{name}", pg_name=name)
    directory = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    return Scratch(f"sqlite+aiosqlite:///{directory / 'bench.db'}", directory=directory)


async def prepare(url: str) -> tuple[uuid.UUID, str]:
    """Migrate, create the user and the workflow; returns (workflow id, bearer token)."""
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
            user = models.User(
                email="bench@example.com",
                password_hash="!no-login",  # noqa: S106 (never signs in)
                role="user",
            )
            session.add(user)
            await session.flush()
            workflow = models.Workflow(
                user_id=user.id, name="bench", nodes=GRAPH["nodes"], edges=GRAPH["edges"]
            )
            session.add(workflow)
            await session.flush()
            user_id, workflow_id = user.id, workflow.id
    finally:
        await db.dispose()
    settings = Settings(jwt_secret=JWT_SECRET, access_token_minutes=600)  # type: ignore[arg-type]
    token = security.issue_access_token(settings, Actor(user_id=user_id)).token
    return workflow_id, token


async def queue_directly(url: str, workflow_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """Queue executions straight into the database (no API), 500 per transaction."""
    from relayflow.store import models
    from relayflow.store.db import Database
    from relayflow.store.queue import pending

    db = Database(url)
    ids: list[uuid.UUID] = []
    try:
        async with db.session() as session:
            workflow = await session.get(models.Workflow, workflow_id)
        assert workflow is not None
        for start in range(0, count, 500):
            async with db.transaction() as session:
                for _ in range(min(500, count - start)):
                    execution = await pending.create_pending_execution(
                        session,
                        workflow=workflow,
                        input={"text": "hello"},
                        trigger={"type": "api"},
                        user_id=workflow.user_id,
                    )
                    ids.append(execution.id)
        return ids
    finally:
        await db.dispose()


async def timings(url: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Any, ...]]:
    """(status, started_at, claimed_at, completed_at) of the given executions."""
    from relayflow.store import models
    from relayflow.store.db import Database

    db = Database(url)
    e = models.Execution
    try:
        found: dict[uuid.UUID, tuple[Any, ...]] = {}
        async with db.session() as session:
            for start in range(0, len(ids), 1000):
                rows = await session.execute(
                    select(e.id, e.status, e.started_at, e.claimed_at, e.completed_at).where(
                        e.id.in_(ids[start : start + 1000])
                    )
                )
                for row in rows:
                    found[row.id] = tuple(row[1:])
        return found
    finally:
        await db.dispose()


async def wait_until_settled(url: str, expected: int, timeout_s: float) -> int:
    from relayflow.store import models
    from relayflow.store.db import Database

    db = Database(url)
    e = models.Execution
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with db.session() as session:
                done = (
                    await session.execute(
                        select(func.count()).where(
                            e.status.in_(["completed", "failed", "cancelled"])
                        )
                    )
                ).scalar_one()
            if done >= expected or time.monotonic() > deadline:
                return int(done)
            await asyncio.sleep(0.1)
    finally:
        await db.dispose()


# ----------------------------------------------------------------- processes
def environment(url: str, data_dir: Path, concurrency: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "RELAYFLOW_DATABASE_URL": url,
        "RELAYFLOW_JWT_SECRET": JWT_SECRET,
        "RELAYFLOW_DATA_DIR": str(data_dir),
        "RELAYFLOW_MIGRATE_ON_START": "false",
        "RELAYFLOW_EMBEDDED_WORKER": "false",
        "RELAYFLOW_SCHEDULER_ENABLED": "false",
        "RELAYFLOW_WORKER_CONCURRENCY": str(concurrency),
        # One bench user submits everything: lift the per-user cap out of the way.
        "RELAYFLOW_USER_CONCURRENCY": "100000",
    }


def start_api(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "throughput:make_app",
        "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env)


def make_app() -> Any:
    """The ASGI app for uvicorn's `--factory`, configured from RELAYFLOW_* variables."""
    from relayflow.api.app import create_app
    from relayflow.config import Settings

    return create_app(Settings())


def start_workers(env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [*relayflow_cli(), "worker", "--no-migrate", "--name", f"bench-{i}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU time the process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# ----------------------------------------------------------------- load
class Client:
    """A minimal keep-alive HTTP/1.1 client: one connection, one request at a time."""

    def __init__(self, port: int, token: str, path: str) -> None:
        self.port = port
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, Any]:
        request = f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        status_line = b""
        for _ in range(2):  # the server may have closed an idle keep-alive connection
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            self.writer.write(request)
            status_line = await self.reader.readline()
            if status_line:
                break
            await self.close()
        if not status_line:
            raise RuntimeError("the API server closed the connection")
        assert self.reader is not None
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(payload)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def wait_until_up(port: int, api: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if api.poll() is not None:
            raise RuntimeError("the API server exited during start-up")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the API server did not come up")


@dataclass
class Sent:
    id: uuid.UUID
    at: dt.datetime


async def submit_fast(port: int, token: str, path: str, count: int) -> list[Sent]:
    """POST `count` executions from CLIENTS connections, each as fast as answers come."""
    sent: list[Sent] = []
    left = count

    async def one_client() -> None:
        nonlocal left
        client = Client(port, token, path)
        try:
            while left > 0:
                left -= 1
                at = utcnow()
                status, body = await client.post(b'{"input": {"text": "hello"}}')
                if status != 202:
                    raise RuntimeError(f"POST answered {status}: {body}")
                sent.append(Sent(uuid.UUID(body["id"]), at))
        finally:
            await client.close()

    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return sent


async def submit_steady(
    port: int, token: str, path: str, rate: float, seconds: float
) -> list[Sent]:
    """POST at a steady rate (open loop: a slow answer does not delay the next POST)."""
    sent: list[Sent] = []
    pool: asyncio.Queue[Client] = asyncio.Queue()
    for _ in range(CLIENTS * 2):
        pool.put_nowait(Client(port, token, path))

    async def one() -> None:
        client = await pool.get()
        try:
            at = utcnow()
            status, body = await client.post(b'{"input": {"text": "hello"}}')
            if status != 202:
                raise RuntimeError(f"POST answered {status}: {body}")
            sent.append(Sent(uuid.UUID(body["id"]), at))
        finally:
            pool.put_nowait(client)

    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    while not pool.empty():
        await pool.get_nowait().close()
    return sent


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(delta: dt.timedelta) -> float:
    return delta / dt.timedelta(milliseconds=1)


# ----------------------------------------------------------------- one point
@dataclass
class Point:
    workers: int
    drained: float  # completed/s from a queue filled beforehand (the runtime alone)
    per_second: float  # completed/s with every execution POSTed through the API
    rate: float
    post_to_completed: tuple[float, float]
    post_to_claimed: tuple[float, float]
    claim_latency: tuple[float, float]
    failed: int
    api_cpu_ms: float  # CPU per execution in the burst, API process
    worker_cpu_ms: float  # CPU per execution in the burst, all worker processes


async def measure(args: argparse.Namespace, workers: int) -> Point:
    scratch = await scratch_database(args.db)
    data_dir = Path(tempfile.mkdtemp(prefix="rf-bench-data-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        workflow_id, token = await prepare(scratch.url)
        env = environment(scratch.url, data_dir, args.concurrency)
        if workers == 0:  # `relayflow serve` with its embedded worker, no worker process
            env["RELAYFLOW_EMBEDDED_WORKER"] = "true"
        path = f"/api/v1/workflows/{workflow_id}/executions"

        # Drain: a queue of executions already committed, then the workers start.
        queued = await queue_directly(scratch.url, workflow_id, args.executions)
        port = free_port()
        api = start_api(env, port)
        processes.append(api)
        processes += start_workers(env, workers)
        await wait_until_up(port, api)
        await wait_until_settled(scratch.url, len(queued), 300)
        rows = await timings(scratch.url, queued)
        claims = [r[2] for r in rows.values() if r[2] is not None]
        ends = [r[3] for r in rows.values() if r[3] is not None]
        drained = len(ends) / (max(ends) - min(claims)).total_seconds() if ends else 0.0

        # Warm-up (connections, caches), not measured.
        warm = await submit_fast(port, token, path, 200)
        await wait_until_settled(scratch.url, len(queued) + len(warm), 60)
        warm = [*warm, *(Sent(i, utcnow()) for i in queued)]  # counted as settled below

        workers_before = sum(cpu_seconds(p) for p in processes[1:])
        api_before = cpu_seconds(api)
        burst = await submit_fast(port, token, path, args.executions)
        settled = await wait_until_settled(scratch.url, len(warm) + len(burst), 300)
        api_cpu = (cpu_seconds(api) - api_before) / len(burst) * 1000  # incl. embedded worker
        worker_cpu = (sum(cpu_seconds(p) for p in processes[1:]) - workers_before) / len(burst)
        rows = await timings(scratch.url, [s.id for s in burst])
        ends = [r[3] for r in rows.values() if r[3] is not None]
        first = min(s.at for s in burst)
        per_second = len(ends) / ((max(ends) - first).total_seconds()) if ends else 0.0
        if settled < len(warm) + len(burst):
            print(f"  warning: only {settled} executions settled", file=sys.stderr)

        rate = args.rate or max(10.0, round(per_second / 2))
        steady = await submit_steady(port, token, path, rate, args.seconds)
        total = len(warm) + len(burst) + len(steady)
        await wait_until_settled(scratch.url, total, 300)
        rows = await timings(scratch.url, [s.id for s in steady])
        completed, claimed, claim = [], [], []
        failed = 0
        for s in steady:
            status, started_at, claimed_at, completed_at = rows[s.id]
            if status != "completed":
                failed += 1
                continue
            completed.append(ms(completed_at - s.at))
            claimed.append(ms(claimed_at - s.at))
            claim.append(ms(claimed_at - started_at))
        return Point(
            workers=workers,
            drained=drained,
            per_second=per_second,
            rate=rate,
            post_to_completed=(percentile(completed, 50), percentile(completed, 99)),
            post_to_claimed=(percentile(claimed, 50), percentile(claimed, 99)),
            claim_latency=(percentile(claim, 50), percentile(claim, 99)),
            failed=failed + sum(1 for r in rows.values() if r[0] == "failed"),
            api_cpu_ms=api_cpu,
            worker_cpu_ms=worker_cpu * 1000,
        )
    finally:
        stop(processes)
        await scratch.drop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--workers",
        default="1,2,4",
        help="worker process counts; 0 = the worker embedded in `relayflow serve`",
    )
    parser.add_argument("--executions", type=int, default=3000, help="per throughput run")
    parser.add_argument("--concurrency", type=int, default=64, help="per worker process")
    parser.add_argument("--rate", type=float, default=0, help="steady POSTs per second")
    parser.add_argument("--seconds", type=float, default=6, help="steady phase length")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"relayflow throughput: 3-node workflow (input -> agent test:echo -> output), "
        f"{args.db}, API: 1 uvicorn process, workers x concurrency {args.concurrency}, "
        f"{os.cpu_count()} CPUs (load average before: {load})"
    )
    print(
        "workers  drain/s  POST+run/s  steady rate  POST->completed p50/p99 ms  "
        "POST->claimed p50/p99 ms  claim latency p50/p99 ms  failed  CPU ms/execution API+workers"
    )
    for workers in counts:
        p = await measure(args, workers)
        print(
            f"{p.workers or 'serve':>7}  {p.drained:>7.0f}  {p.per_second:>10.0f}  "
            f"{p.rate:>9.0f}/s  "
            f"{p.post_to_completed[0]:>12.1f} / {p.post_to_completed[1]:<11.1f}  "
            f"{p.post_to_claimed[0]:>10.1f} / {p.post_to_claimed[1]:<11.1f}  "
            f"{p.claim_latency[0]:>11.1f} / {p.claim_latency[1]:<11.1f}  {p.failed:>6}  "
            f"{p.api_cpu_ms:.2f} + {p.worker_cpu_ms:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
