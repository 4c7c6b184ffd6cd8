"""Webhook ingest on PostgreSQL: the highest sustained rate with p99 < 100 ms and no errors.

What is measured: `POST /hooks/{id}` with a JSON body checked against the
workflow's input schema, answered 202 only after the pending execution row is
committed (durable). The server is `uvicorn` with `--workers N` processes
(uvloop, httptools, no access log) running relayflow without its embedded
worker, so the figure is the intake alone; executions queue up as `pending`.

Load generator: `wrk` (Debian package `wrk`, C, one thread), in its own process.
The offered load steps up with the number of concurrent clients (keep-alive
connections, each sending its next request as soon as the previous answer
arrives), as in the n8n figures quoted in the issue ("8 clients"). A step holds
when p99 is under 100 ms with no socket errors and no non-2xx answers; the
result is the highest rate of a step that holds. Afterwards the rows are
counted: every 2xx answer must have its committed execution row.

Run: `.venv/bin/python bench/ingest.py [--workers 2] [--duration 10] [--clients 1,2,4,...]`
(PostgreSQL at RELAYFLOW_BENCH_PG, default postgres@127.0.0.1:5432; a scratch
database is created and dropped). `--idempotency` sends a unique Idempotency-Key
per request, to measure that path too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
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
import httpx

PG_SERVER = os.environ.get("RELAYFLOW_BENCH_PG", "postgres@127.0.0.1:5432")
JWT_SECRET = "bench-secret-" + "x" * 40
P99_LIMIT_MS = 100.0
BODY = '{"customer": "c-42", "amount": 1999, "currency": "EUR", "items": ["sku-1", "sku-2"]}'
INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "customer": {"type": "string"},
        "amount": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
        "items": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["customer", "amount"],
}

WRK_SCRIPT = """
local key = os.getenv("BENCH_KEY")
local idempotent = os.getenv("BENCH_IDEMPOTENCY") == "1"
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = key
local counter = 0
local prefix = os.getenv("BENCH_RUN")  -- unique per step: keys never repeat
function request()
  if idempotent then
    counter = counter + 1
    wrk.headers["Idempotency-Key"] = prefix .. "-" .. counter
  end
  return wrk.format()
end
"""


def make_app() -> Any:
    """The ASGI app for uvicorn's `--factory`, configured from RELAYFLOW_* variables."""
    from relayflow.api.app import create_app
    from relayflow.config import Settings

    return create_app(Settings())


# ----------------------------------------------------------------- setup
async def create_database(name: str) -> str:
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{PG_SERVER}/{name}"


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(url: str) -> tuple[uuid.UUID, str]:
    """Migrate, then a user, a workflow (input with a schema -> output) and a webhook."""
    from relayflow.domain import Actor, Role
    from relayflow.store import models, webhooks
    from relayflow.store.db import Database
    from relayflow.store.migrate import upgrade

    db = Database(url)
    try:
        await upgrade(db)
        async with db.transaction() as session:
            user = models.User(email="bench@example.com", password_hash="-", role="user")  # noqa: S106
            session.add(user)
            await session.flush()
            workflow = models.Workflow(
                user_id=user.id,
                name="ingest",
                nodes=[
                    {
                        "id": "in",
                        "type": "input",
                        "position": {"x": 0, "y": 0},
                        "data": {"schema": INPUT_SCHEMA},
                    },
                    {
                        "id": "out",
                        "type": "output",
                        "position": {"x": 0, "y": 100},
                        "data": {"value": "{{ input }}"},
                    },
                ],
                edges=[{"id": "e", "source": "in", "target": "out"}],
            )
            session.add(workflow)
            await session.flush()
            issued = await webhooks.create_webhook(session, Actor(user.id, Role.USER), workflow.id)
            return issued.webhook.id, issued.api_key
    finally:
        await db.dispose()


async def count_executions(url: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM executions"))
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, workers: int, pool_size: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RELAYFLOW_DATABASE_URL": url,
        "RELAYFLOW_JWT_SECRET": JWT_SECRET,
        "RELAYFLOW_EMBEDDED_WORKER": "false",
        "RELAYFLOW_MIGRATE_ON_START": "false",
        "RELAYFLOW_DATABASE_POOL_SIZE": str(pool_size),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "ingest:make_app",
        "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env)


async def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not come up")


# ----------------------------------------------------------------- load
@dataclass
class Step:
    clients: int
    rate: float
    requests: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int

    @property
    def holds(self) -> bool:
        return self.p99_ms < P99_LIMIT_MS and not self.socket_errors and not self.non_2xx


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"cannot read a latency from {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str, clients: int) -> Step:
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Step(
        clients=clients,
        rate=rate,
        requests=requests,
        p50_ms=_ms(latency["50"]),
        p90_ms=_ms(latency["90"]),
        p99_ms=_ms(latency["99"]),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def run_wrk(
    url: str, key: str, script: Path, *, clients: int, duration: int, idempotency: bool
) -> Step:
    env = {
        **os.environ,
        "BENCH_KEY": key,
        "BENCH_BODY": BODY,
        "BENCH_IDEMPOTENCY": "1" if idempotency else "0",
        "BENCH_RUN": uuid.uuid4().hex,
    }
    command = [
        "wrk", "-t1", f"-c{clients}", f"-d{duration}s", "--latency", "--timeout", "5s",
        "-s", str(script), url,
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    try:
        return parse_wrk(result.stdout, clients)
    except (KeyError, AttributeError, ValueError) as exc:
        raise RuntimeError(f"cannot read wrk's report:\n{result.stdout}{result.stderr}") from exc


def describe(step: Step) -> str:
    verdict = "holds" if step.holds else "fails"
    return (
        f"{step.clients:3d} clients  {step.rate:7.0f}/s  p50 {step.p50_ms:6.1f} ms  "
        f"p90 {step.p90_ms:6.1f} ms  p99 {step.p99_ms:6.1f} ms  errors {step.socket_errors}  "
        f"non-2xx {step.non_2xx}  -> {verdict}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--duration", type=int, default=10, help="seconds per step")
    parser.add_argument("--clients", default="1,2,4,8,12,16,24,32,48,64")
    parser.add_argument("--pool-size", type=int, default=10, help="connections per process")
    parser.add_argument("--idempotency", action="store_true", help="unique Idempotency-Key")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    name = f"rf_bench_ingest_{uuid.uuid4().hex[:8]}"
    url = await create_database(name)
    server: subprocess.Popen[bytes] | None = None
    try:
        webhook_id, key = await seed(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, args.workers, args.pool_size)
        await wait_until_up(base, server)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script_file:
            script_file.write(WRK_SCRIPT)
        script = Path(script_file.name)
        target = f"{base}/hooks/{webhook_id}"
        print(
            f"relayflow webhook ingest: {args.workers} uvicorn worker(s), PostgreSQL, "
            f"load from wrk, {args.duration} s per step"
            + (", unique Idempotency-Key per request" if args.idempotency else "")
        )
        run_wrk(target, key, script, clients=8, duration=3, idempotency=args.idempotency)
        before = await count_executions(url)  # the warm-up's rows
        steps: list[Step] = []
        for clients in (int(c) for c in args.clients.split(",")):
            step = run_wrk(
                target, key, script, clients=clients, duration=args.duration,
                idempotency=args.idempotency,
            )  # fmt: skip
            steps.append(step)
            print(describe(step), flush=True)
            if step.p99_ms > 3 * P99_LIMIT_MS:
                break  # saturated: more clients only queue longer
        await asyncio.sleep(0.5)
        rows = await count_executions(url) - before
        answered = sum(s.requests - s.non_2xx for s in steps)
        print(f"durability: {answered} accepted answers, {rows} execution rows committed")
        held = [s for s in steps if s.holds]
        if held:
            best = max(held, key=lambda s: s.rate)
            print(
                f"highest sustained rate with p99 < {P99_LIMIT_MS:.0f} ms and zero errors: "
                f"{best.rate:.0f} webhooks/s (p50 {best.p50_ms:.1f} ms, p99 {best.p99_ms:.1f} ms)"
            )
        else:
            print("no step held p99 < 100 ms with zero errors")
        script.unlink()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        await drop_database(name)


if __name__ == "__main__":
    started = time.perf_counter()
    asyncio.run(main())
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
