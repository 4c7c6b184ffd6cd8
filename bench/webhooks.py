"""Webhooks as users meet them: the real server under wrk, on a database with a history.

Three workloads, 8 clients by default (wrk, one thread, closed loop: each client sends
its next request when the previous answer arrives), body `{"topic":"bench","n":1}`:
- e2e3: `POST /hooks/{id}?wait=10` on input -> transform -> transform -> condition
  -> output; the answer is the output (200).
- ingest: `POST /hooks/{id}` on input -> transform -> output; answered 202 once
  stored. The time the worker then needs to drain the backlog is reported.
- reads: `GET /api/v1/executions` as the owner of the history reads it, the first
  page and a page filtered by workflow and status (every answer must hold rows),
  by one client unless `--read-clients N`: the latency of a person paging.
- scraped (not in the default set): e2e3 while `--scrape-clients N` (4) clients
  request `GET /metrics` in a closed loop, as anyone may while no metrics token is
  set: what a flood of scrapes costs the webhooks (compare with e2e3's line).

The server is the one users run: `relayflow serve` on SQLite (supervising an API
process and a worker process); `serve --no-worker` plus one `relayflow worker` on PostgreSQL.
`--shape serve|single|split` chooses another of these (`single`: `serve
--single-process`, API and worker in one process).
`--api-processes N` gives `serve` N API processes (on PostgreSQL, supervised without a
worker; code older than 2026-12-01 evening ran one process with `--no-worker`).
Every request is checked against a completed execution with the expected output
(e2e3: every answer a 200 carrying it). Printed per run: req/s, p50/p99, CPU per
execution (all server processes, from /proc) and the largest RSS; on PostgreSQL also
the WAL written and the blocks read from outside shared buffers during the load, per
execution.

Baselines in the same run: each workload runs on a fresh database, then on a second
database where `--history N` finished executions (each with three node runs and three
events) were inserted in bulk, without a manual VACUUM or ANALYZE; `--rounds R`
makes the two take turns R times and prints the median change (this host's speed
drifts by up to 2x over minutes, so one pair run minutes apart says little).
`--burst S` first sends S seconds of ingest at full speed to the history database
(drained, not measured): the goal's "right after a 60 s burst" is `--burst 60`. With
`--baseline-src DIR` (the `src` of another checkout, e.g. a git worktree of main)
the same runs are made with that code first.

Run: `.venv/bin/python bench/webhooks.py --db sqlite --history 100000`, or with
`--db postgres` and `--baseline-src /tmp/main/src` (a worktree of main).
(PostgreSQL at RELAYFLOW_BENCH_PG, default postgres@127.0.0.1:5432; scratch
databases are created and dropped.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

PG_SERVER = os.environ.get("RELAYFLOW_BENCH_PG", "postgres@127.0.0.1:5432")
JWT_SECRET = "bench-secret-" + "x" * 40
BODY = '{"topic":"bench","n":1}'
EXPECTED = {"topic": "bench", "n2": 2, "processed": True}
TICKS = os.sysconf("SC_CLK_TCK")

WRK_SCRIPT = """
wrk.method = os.getenv("BENCH_METHOD")
if wrk.method == "POST" then
  wrk.body = os.getenv("BENCH_BODY")
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")
else
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
end
local expected = os.getenv("BENCH_EXPECT")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) answered = 0; complete = 0 end
function response(status, headers, body)
  answered = answered + 1
  if status == 200 and string.find(body, expected, 1, true) then complete = complete + 1 end
end
function done(summary, latency, requests)
  local a, c = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("answered")
    c = c + thread:get("complete")
  end
  io.write(string.format("answers-with-output: %d of %d\\n", c, a))
end
"""


def _node(node_id: str, kind: str, y: int, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "position": {"x": 0, "y": y}, "data": data}


def _edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    edge: dict[str, Any] = {"id": f"{source}-{target}", "source": source, "target": target}
    if handle is not None:
        edge["sourceHandle"] = handle
    return edge


E2E3 = {
    "nodes": [
        _node("in", "input", 0),
        _node("set", "transform", 100, value={"topic": "{{ input.topic }}", "n": "{{ input.n }}"}),
        _node(
            "compute",
            "transform",
            200,
            value={
                "topic": "{{ nodes.set.output.topic }}",
                "n2": "{{ nodes.set.output.n * 2 }}",
                "processed": True,
            },
        ),
        _node(
            "check",
            "condition",
            300,
            cases=[{"handle": "bench", "when": "nodes.compute.output.topic == 'bench'"}],
        ),
        _node("out", "output", 400, value="{{ nodes.compute.output }}"),
    ],
    "edges": [
        _edge("in", "set"),
        _edge("set", "compute"),
        _edge("compute", "check"),
        _edge("check", "out", "bench"),
    ],
}
INGEST = {
    "nodes": [
        _node("in", "input", 0),
        _node("set", "transform", 100, value={"topic": "{{ input.topic }}", "n": "{{ input.n }}"}),
        _node("out", "output", 200, value="{{ nodes.set.output }}"),
    ],
    "edges": [_edge("in", "set"), _edge("set", "out")],
}


# ----------------------------------------------------------------- databases
async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(kind: str, scratch: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{scratch / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    name = f"rf_bench_hooks_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return f"postgresql+asyncpg://{PG_SERVER}/{name}"


async def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def connect_pg(url: str) -> asyncpg.Connection:
    """An asyncpg connection to the PostgreSQL database at `url` (SQLAlchemy's form)."""
    return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


@contextlib.asynccontextmanager
async def scratch_database(kind: str) -> AsyncIterator[tuple[str, Path]]:
    """A new database of `kind` and a scratch directory, both removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    url = await create_database(kind, scratch)
    try:
        yield url, scratch
    finally:
        await drop_database(url)
        shutil.rmtree(scratch, ignore_errors=True)


def run_python(code: str, url: str, src: str | None) -> str:
    """Run relayflow code (this checkout's or `src`) in a child interpreter."""
    env = {**os.environ, "RELAYFLOW_DATABASE_URL": url, "RELAYFLOW_JWT_SECRET": JWT_SECRET}
    if src:
        env["PYTHONPATH"] = src
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"setup failed:\n{result.stdout}{result.stderr}")
    return result.stdout


SEED = """
import asyncio, json, os
from relayflow.domain import Actor, Role
from relayflow.store import models, webhooks
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade

async def main():
    db = Database(os.environ["RELAYFLOW_DATABASE_URL"])
    await upgrade(db)
    out = {}
    async with db.transaction() as session:
        user = models.User(email="bench@example.com", password_hash="-", role="user")
        session.add(user)
        await session.flush()
        for name, graph in json.loads(os.environ["BENCH_GRAPHS"]).items():
            workflow = models.Workflow(user_id=user.id, name=name, **graph)
            session.add(workflow)
            await session.flush()
            issued = await webhooks.create_webhook(session, Actor(user.id, Role.USER), workflow.id)
            out[name] = [str(issued.webhook.id), issued.api_key, str(workflow.id), str(user.id)]
    await db.dispose()
    print(json.dumps(out))

asyncio.run(main())
"""


SIGN_IN_CODE = """
import os, uuid
from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.security import issue_access_token
actor = Actor(uuid.UUID(os.environ["BENCH_USER"]), Role.USER)
print(issue_access_token(Settings(), actor).token)
"""


def access_token(url: str, src: str | None, user_id: str) -> str:
    os.environ["BENCH_USER"] = user_id
    return run_python(SIGN_IN_CODE, url, src).strip().splitlines()[-1]


def seed(url: str, src: str | None) -> dict[str, list[str]]:
    os.environ["BENCH_GRAPHS"] = json.dumps({"e2e3": E2E3, "ingest": INGEST})
    return dict(json.loads(run_python(SEED, url, src).strip().splitlines()[-1]))


# ----------------------------------------------------------------- history
PG_HISTORY = """
INSERT INTO executions (id, workflow_id, status, input, output, graph, trigger, user_id,
                        started_at, updated_at, completed_at, duration_ms, claimed_at, lease_token)
SELECT gen_random_uuid(), $1, 'completed', '{"topic":"old","n":1}', '{"n":2}',
       '{"nodes":[],"edges":[]}', '{"type":"webhook"}', $2,
       now() - interval '1 day' - g * interval '1 second',
       now() - interval '1 day' - g * interval '1 second',
       now() - interval '1 day' - g * interval '1 second', 3,
       now() - interval '1 day' - g * interval '1 second', 1
FROM generate_series(1, $3) AS g
"""
PG_HISTORY_RUNS = """
INSERT INTO node_runs (id, execution_id, node_id, iteration, attempt, status, input, output,
                       started_at, finished_at, duration_ms)
SELECT gen_random_uuid(), e.id, n.node, 0, 1, 'completed', '{}', '{"n":2}',
       e.started_at, e.started_at, 1
FROM executions e CROSS JOIN (VALUES ('in'), ('set'), ('out')) AS n(node)
WHERE e.status = 'completed' AND e.workflow_id = $1 AND e.input->>'topic' = 'old'
"""
PG_HISTORY_EVENTS = """
INSERT INTO execution_events (execution_id, kind, payload, created_at)
SELECT e.id, k.kind, k.payload::jsonb, e.started_at
FROM executions e CROSS JOIN (VALUES ('execution.status', '{"status":"processing"}'),
                                     ('node.completed', '{"node_id":"out"}'),
                                     ('execution.status', '{"status":"completed"}'))
     AS k(kind, payload)
WHERE e.status = 'completed' AND e.workflow_id = $1 AND e.input->>'topic' = 'old'
"""


async def seed_history(url: str, ids: dict[str, list[str]], n: int) -> float:
    """N finished executions of the ingest workflow, inserted in bulk; returns seconds."""
    started = time.perf_counter()
    workflow_id, user_id = uuid.UUID(ids["ingest"][2]), uuid.UUID(ids["ingest"][3])
    if url.startswith("postgresql"):
        conn = await connect_pg(url)
        try:
            for offset in range(0, n, 100_000):
                await conn.execute(PG_HISTORY, workflow_id, user_id, min(100_000, n - offset))
            await conn.execute(PG_HISTORY_RUNS, workflow_id)
            await conn.execute(PG_HISTORY_EVENTS, workflow_id)
        finally:
            await conn.close()
    else:
        _seed_sqlite_history(url.split("///", 1)[1], workflow_id, user_id, n)
    return time.perf_counter() - started


def _seed_sqlite_history(path: str, workflow_id: uuid.UUID, user_id: uuid.UUID, n: int) -> None:
    import datetime as dt
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        base = dt.datetime(2026, 1, 1)
        with conn:
            for start in range(0, n, 20_000):
                executions, runs, events = [], [], []
                for i in range(start, min(n, start + 20_000)):
                    eid = uuid.uuid4().hex
                    at = (base + dt.timedelta(seconds=i)).isoformat(sep=" ")
                    executions.append((eid, workflow_id.hex, at, at, at, at, user_id.hex))
                    for node in ("in", "set", "out"):
                        runs.append((uuid.uuid4().hex, eid, node, at, at))
                    for kind, payload in (
                        ("execution.status", '{"status":"processing"}'),
                        ("node.completed", '{"node_id":"out"}'),
                        ("execution.status", '{"status":"completed"}'),
                    ):
                        events.append((eid, kind, payload, at))
                conn.executemany(
                    "INSERT INTO executions (id, workflow_id, status, input, output, graph, "
                    "trigger, started_at, updated_at, completed_at, claimed_at, user_id, "
                    "duration_ms, lease_token, lost_leases, cancel_requested, input_tokens, "
                    "output_tokens, cost_usd) VALUES (?, ?, 'completed', '{\"n\":1}', "
                    '\'{"n":2}\', \'{"nodes":[],"edges":[]}\', \'{"type":"webhook"}\', '
                    "?, ?, ?, ?, ?, 3, 1, 0, 0, 0, 0, 0)",
                    executions,
                )
                conn.executemany(
                    "INSERT INTO node_runs (id, execution_id, node_id, iteration, attempt, "
                    "status, input, output, started_at, finished_at, duration_ms, "
                    "input_tokens, output_tokens, cost_usd) VALUES (?, ?, ?, 0, 1, "
                    "'completed', '{}', '{\"n\":2}', ?, ?, 1, 0, 0, 0)",
                    runs,
                )
                conn.executemany(
                    "INSERT INTO execution_events (execution_id, kind, payload, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    events,
                )
    finally:
        conn.close()


# ----------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLI = "from relayflow.cli import app; app()"


SHAPES = ("serve", "single", "split")


@dataclass
class Server:
    processes: list[subprocess.Popen[bytes]]
    base: str

    def pids(self) -> list[int]:
        return [pid for process in self.processes for pid in _tree(process.pid)]

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / TICKS

    def rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                match = re.search(r"VmRSS:\s+(\d+) kB", status)
                if match:
                    sizes.append(int(match.group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _tree(pid: int) -> list[int]:
    """The process and its children (uvicorn may fork)."""
    found = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            found += _tree(int(child))
    return found


def start_server(
    url: str, src: str | None, api_processes: int = 1, shape: str | None = None
) -> Server:
    """The server in one of SHAPES; by default `serve` on SQLite (as README starts it) and
    `split` on PostgreSQL (the shape of the issue's table)."""
    shape = shape or ("serve" if url.startswith("sqlite") else "split")
    port = free_port()
    env = {
        **os.environ,
        "RELAYFLOW_DATABASE_URL": url,
        "RELAYFLOW_JWT_SECRET": JWT_SECRET,
        "RELAYFLOW_LOG_LEVEL": "WARNING",
    }
    if src:
        env["PYTHONPATH"] = src
    serve = [sys.executable, "-c", CLI, "serve", "--port", str(port)]
    if api_processes != 1:
        serve += ["--api-processes", str(api_processes)]
    if shape == "single":
        serve.append("--single-process")
    processes = []
    if shape == "split":
        processes.append(subprocess.Popen([*serve, "--no-worker"], env=env))
        processes.append(subprocess.Popen([sys.executable, "-c", CLI, "worker"], env=env))
    else:
        processes.append(subprocess.Popen(serve, env=env))
    return Server(processes, f"http://127.0.0.1:{port}")


async def wait_until_up(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base) as client:
        for _ in range(600):
            if any(p.poll() is not None for p in server.processes):
                raise RuntimeError("the server exited during start-up")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not come up")


@contextlib.asynccontextmanager
async def serving(
    url: str, src: str | None, api_processes: int, shape: str | None = None
) -> AsyncIterator[Server]:
    """The server on `url`, up, and stopped afterwards."""
    server = start_server(url, src, api_processes, shape)
    try:
        await wait_until_up(server)
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------- load
def machine_speed() -> str:
    """A fixed bit of pure Python, timed: figures from machines (or hours) whose CPU
    differs are compared through it, not as they are."""
    import timeit

    best = min(timeit.repeat("sum((1, 2, 3))", number=1_000_000, repeat=5))
    return f"reference loop {best * 1000:.0f} ns (sum of a 3-tuple; lower is faster)"


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"cannot read a latency from {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


@dataclass
class Load:
    rate: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int
    with_output: int


def run_wrk(
    target: str,
    key: str,
    script: Path,
    clients: int,
    duration: int,
    *,
    reads: bool = False,
    expect: str | None = None,
) -> Load:
    """POST the body with the webhook `key`, or (`reads`) GET with `key` as a bearer token.
    An answer counts as "with output" when it is a 200 holding `expect` (by default the
    e2e3 output, or a page's first row)."""
    env = {
        **os.environ,
        "BENCH_KEY": key,
        "BENCH_BODY": BODY,
        "BENCH_METHOD": "GET" if reads else "POST",
        "BENCH_EXPECT": expect or ('"items":[{' if reads else '"n2":2'),
    }
    command = [
        "wrk", "-t1", f"-c{clients}", f"-d{duration}s", "--latency", "--timeout", "15s",
        "-s", str(script), target,
    ]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    try:
        latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
        socket_errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
        )
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return Load(
            rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
            p50_ms=_ms(latency["50"]),
            p99_ms=_ms(latency["99"]),
            errors=(sum(int(n) for n in socket_errors.groups()) if socket_errors else 0)
            + (int(non_2xx.group(1)) if non_2xx else 0),
            with_output=int(re.search(r"answers-with-output: (\d+)", out).group(1)),  # type: ignore[union-attr]
        )
    except (KeyError, AttributeError, ValueError) as exc:
        raise RuntimeError(f"cannot read wrk's report:\n{out}") from exc


async def executions_by_status(url: str, workflow_id: str) -> dict[str, int]:
    query = "SELECT status, count(*) FROM executions WHERE workflow_id = {} GROUP BY status"
    if url.startswith("postgresql"):
        conn = await connect_pg(url)
        try:
            rows = await conn.fetch(query.format("$1"), uuid.UUID(workflow_id))
            return {r[0]: int(r[1]) for r in rows}
        finally:
            await conn.close()
    import sqlite3

    conn2 = sqlite3.connect(url.split("///", 1)[1], timeout=30)
    try:
        rows2 = conn2.execute(query.format("?"), (uuid.UUID(workflow_id).hex,)).fetchall()
        return {r[0]: int(r[1]) for r in rows2}
    finally:
        conn2.close()


async def completed_with_output(url: str, workflow_id: str) -> int:
    """Completed executions of the workflow whose output is the expected one."""
    if url.startswith("postgresql"):
        conn = await connect_pg(url)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM executions WHERE workflow_id = $1 "
                    "AND status = 'completed' AND output = $2::jsonb",
                    uuid.UUID(workflow_id),
                    json.dumps(EXPECTED),
                )
            )
        finally:
            await conn.close()
    import sqlite3

    conn2 = sqlite3.connect(url.split("///", 1)[1], timeout=30)
    try:
        rows = conn2.execute(
            "SELECT output FROM executions WHERE workflow_id = ? AND status = 'completed'",
            (uuid.UUID(workflow_id).hex,),
        ).fetchall()
        return sum(1 for (output,) in rows if json.loads(output) == EXPECTED)
    finally:
        conn2.close()


@dataclass
class Result:
    label: str
    workload: str
    load: Load
    cpu_ms_per_execution: float
    rss_mb: float
    drain_s: float
    checked: str
    database: str = ""  # PostgreSQL: WAL and blocks read per execution


async def database_counters(url: str) -> dict[str, float]:
    """PostgreSQL: WAL written so far, and the bench database's blocks read from outside
    shared buffers and found in them (an empty dict on SQLite)."""
    if not url.startswith("postgresql"):
        return {}
    conn = await connect_pg(url)
    try:
        row = await conn.fetchrow(
            "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS wal, blks_read, blks_hit "
            "FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return {name: float(row[name]) for name in ("wal", "blks_read", "blks_hit")}


def per_execution(before: dict[str, float], after: dict[str, float], executions: int) -> str:
    if not before:
        return ""
    each = {name: (after[name] - before[name]) / max(1, executions) for name in before}
    return (
        f"WAL {each['wal'] / 1024:.1f} KB, blocks read {each['blks_read']:.2f} "
        f"(hit {each['blks_hit']:.0f}) per execution"
    )


async def measure(
    label: str, workload: str, url: str, server: Server, ids: dict[str, list[str]],
    script: Path, args: argparse.Namespace,
) -> Result:  # fmt: skip
    scraped = workload == "scraped"
    workload = "e2e3" if scraped else workload
    webhook_id, key, workflow_id, _ = ids[workload]
    target = f"{server.base}/hooks/{webhook_id}" + ("?wait=10" if workload == "e2e3" else "")
    run_wrk(target, key, script, args.clients, args.warmup)  # warm-up, not counted
    await wait_drained(url, workflow_id, 120)
    before = await executions_by_status(url, workflow_id)
    cpu_before = server.cpu_seconds()
    counters = await database_counters(url)
    scrapes = None
    if scraped:  # `GET /metrics` in a closed loop beside the webhooks, a little longer
        scrapes = asyncio.create_task(
            asyncio.to_thread(
                run_wrk, f"{server.base}/metrics", "-", script, args.scrape_clients,
                args.duration + 1, reads=True, expect="relayflow_queue_depth ",
            )
        )  # fmt: skip
    load = run_wrk(target, key, script, args.clients, args.duration)
    # During the load only: waiting for the drain, this script counts the workflow's
    # executions every 0.2 s, which reads its whole history.
    database = per_execution(counters, await database_counters(url), load.requests)
    if scrapes is not None:
        scraping = await scrapes
        workload = "scraped"
        print(
            f"{label:<28} GET /metrics   {scraping.rate:8.1f}/s  p50 {scraping.p50_ms:6.1f} ms  "
            f"p99 {scraping.p99_ms:7.1f} ms  errors {scraping.errors}  "
            f"{scraping.with_output}/{scraping.requests} with the gauges, "
            f"{args.scrape_clients} clients beside e2e3"
        )
    drain_s = await wait_drained(url, workflow_id, 300)  # from the last answer
    cpu = server.cpu_seconds() - cpu_before
    after = await executions_by_status(url, workflow_id)
    new = {s: after.get(s, 0) - before.get(s, 0) for s in after}
    completed = new.get("completed", 0)
    if workload in ("e2e3", "scraped"):
        ok = load.with_output == load.requests and completed >= load.requests
        checked = f"{load.with_output}/{load.requests} answers carried the output"
    else:
        ok = completed >= load.requests
        checked = f"{completed}/{load.requests} accepted runs completed"
    if workload in ("e2e3", "scraped"):
        good = await completed_with_output(url, workflow_id)
        checked += f"; {good} completed with the expected output in all"
    if not ok or load.errors:
        checked += "  ** CHECK FAILED **"
    return Result(
        label, workload, load, 1000 * cpu / max(1, completed), max(server.rss_mb() or [0]),
        drain_s if workload == "ingest" else 0.0, checked, database,
    )  # fmt: skip


async def wait_drained(url: str, workflow_id: str, limit_s: float) -> float:
    """Seconds until no execution of the workflow is pending or processing."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        counts = await executions_by_status(url, workflow_id)
        if not counts.get("pending") and not counts.get("processing"):
            return time.perf_counter() - started
        await asyncio.sleep(0.2)
    raise RuntimeError("the backlog did not drain")


async def measure_reads(
    label: str, server: Server, ids: dict[str, list[str]], token: str, script: Path,
    args: argparse.Namespace,
) -> list[str]:  # fmt: skip
    """The history as its owner reads it: the first page, and a page filtered to the
    e2e3 workflow's completed runs (a few thousand among the history's rows)."""
    pages = {
        "first page": "/api/v1/executions",
        "filtered page": f"/api/v1/executions?workflow_id={ids['e2e3'][2]}&status=completed",
    }
    lines = []
    for name, path in pages.items():
        target = server.base + path
        run_wrk(target, token, script, args.read_clients, args.warmup, reads=True)
        load = run_wrk(target, token, script, args.read_clients, args.duration, reads=True)
        ok = load.with_output == load.requests and not load.errors
        lines.append(
            f"{label:<28} GET {name:<13} {load.rate:8.1f}/s  p50 {load.p50_ms:6.1f} ms  "
            f"p99 {load.p99_ms:7.1f} ms  errors {load.errors}  "
            f"{load.with_output}/{load.requests} pages with rows"
            + ("" if ok else "  ** CHECK FAILED **")
        )
    return lines


def describe(result: Result) -> str:
    load = result.load
    drain = f"  drain {result.drain_s:5.1f} s" if result.workload == "ingest" else ""
    return (
        f"{result.label:<28} {result.workload:<6} {load.rate:8.1f}/s  p50 {load.p50_ms:6.1f} ms  "
        f"p99 {load.p99_ms:7.1f} ms  CPU {result.cpu_ms_per_execution:5.2f} ms/exec  "
        f"RSS {result.rss_mb:5.0f} MB  errors {load.errors}{drain}\n"
        f"{'':<28} check: {result.checked}"
        + (f"\n{'':<28} {result.database}" if result.database else "")
    )


async def run_code(label: str, src: str | None, args: argparse.Namespace) -> list[Result]:
    """Each workload on a fresh database and, with `--history`, on a second one that
    holds the history, taking turns `--rounds` times: a host whose speed drifts over
    minutes then slows both phases alike instead of whichever ran last."""
    async with contextlib.AsyncExitStack() as stack:
        url, scratch = await stack.enter_async_context(scratch_database(args.db))
        script = scratch / "post.lua"
        script.write_text(WRK_SCRIPT)
        phases = {"fresh": (url, seed(url, src))}
        if args.history:
            url, _ = await stack.enter_async_context(scratch_database(args.db))
            ids = seed(url, src)
            seconds = await seed_history(url, ids, args.history)
            print(f"  ({args.history} finished executions seeded in {seconds:.1f} s)")
            if args.burst:
                await burst(url, src, ids, script, args)
            phases[f"history {args.history}"] = (url, ids)
        results: dict[str, list[Result]] = {phase: [] for phase in phases}
        for round_ in range(1, args.rounds + 1):
            for phase, (url, ids) in phases.items():
                name = f"{label}, {phase}" + (f" #{round_}" if args.rounds > 1 else "")
                results[phase] += await run_workloads(name, src, args, url, ids, script)
        if args.history:
            print(compare_phases(label, results))
        return [result for phase in results.values() for result in phase]


async def burst(
    url: str, src: str | None, ids: dict[str, list[str]], script: Path, args: argparse.Namespace
) -> None:
    """`--burst S`: S seconds of ingest at full speed on the history database, drained,
    not measured and without a VACUUM: the churn the rounds then run right after."""
    webhook_id, key, workflow_id, _ = ids["ingest"]
    async with serving(url, src, args.api_processes, args.shape) as server:
        load = run_wrk(f"{server.base}/hooks/{webhook_id}", key, script, args.clients, args.burst)
        drained = await wait_drained(url, workflow_id, 600)
    print(
        f"  (a burst of {load.requests} ingest webhooks in {args.burst} s, "
        f"drained {drained:.1f} s later)"
    )


async def run_workloads(
    name: str, src: str | None, args: argparse.Namespace, url: str,
    ids: dict[str, list[str]], script: Path,
) -> list[Result]:  # fmt: skip
    """Every workload once against a server started on `url` for the purpose."""
    results: list[Result] = []
    async with serving(url, src, args.api_processes, args.shape) as server:
        for workload in args.workloads.split(","):
            if workload == "reads":
                token = access_token(url, src, ids["e2e3"][3])
                for line in await measure_reads(name, server, ids, token, script, args):
                    print(line, flush=True)
                continue
            result = await measure(name, workload, url, server, ids, script, args)
            results.append(result)
            print(describe(result), flush=True)
    return results


def compare_phases(label: str, results: dict[str, list[Result]]) -> str:
    """Per workload: the history's rate against the fresh database's, round by round
    (each round ran both back to back) and the median of those ratios."""
    (fresh, history), lines = results.values(), []
    for workload in dict.fromkeys(result.workload for result in fresh):
        pairs = [
            (f.load.rate, h.load.rate)
            for f, h in zip(fresh, history, strict=True)
            if f.workload == h.workload == workload
        ]
        median = statistics.median(h / f - 1 for f, h in pairs if f)
        rounds = ", ".join(f"{f:.0f} -> {h:.0f}/s" for f, h in pairs)
        lines.append(
            f"{label}: {workload} with the history against fresh: {median:+.1%} "
            f"(median of {len(pairs)} round(s): {rounds})"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--history", type=int, default=0, help="finished executions to seed")
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="times the fresh and the history database take turns (with --history)",
    )  # fmt: skip
    parser.add_argument(
        "--burst", type=int, default=0,
        help="seconds of ingest at full speed on the history database before the rounds",
    )  # fmt: skip
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=20, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up")
    parser.add_argument("--workloads", default="e2e3,ingest,reads")
    parser.add_argument(
        "--read-clients", type=int, default=1, help="clients of `reads` (a person paging)"
    )
    parser.add_argument(
        "--scrape-clients", type=int, default=4, help="clients of `GET /metrics` in `scraped`"
    )
    parser.add_argument("--baseline-src", help="`src` of another checkout, run first")
    parser.add_argument(
        "--api-processes",
        type=int,
        default=1,
        help="API processes of `serve` (beside its worker on SQLite; on PostgreSQL, "
        "`serve --no-worker` beside one `relayflow worker`)",
    )
    parser.add_argument(
        "--shape", choices=SHAPES,
        help="how the server runs: `serve` (as README starts it; supervised API and worker "
        "processes), `single` (`serve --single-process`), `split` (`serve --no-worker` "
        "beside one `relayflow worker`); default `serve` on SQLite, `split` on PostgreSQL",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    load = os.getloadavg()
    print(
        f"relayflow webhooks on {args.db}: wrk -t1 -c{args.clients}, {args.warmup} s warm-up, "
        f"{args.duration} s measured; {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} at start; {machine_speed()}"
    )
    if args.baseline_src:
        await run_code("baseline", args.baseline_src, args)
    await run_code("this checkout", None, args)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
