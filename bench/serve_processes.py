"""`relayflow serve` on SQLite: one process against the supervised API + worker processes.

The default install, as the README starts it (`relayflow serve`, SQLite in the data
dir), driven by `wrk` with synchronous webhook runs (e2e3 of issue 11: webhook ->
transform -> transform -> condition -> output, `POST /hooks/{id}?wait=10`,
answered with the output). Each mode gets a fresh data directory and the same
load, one after the other in this run:

- `--single-process`: API, worker and scheduler in one process (the old shape);
- default: the supervisor with its API process(es) and a worker process
  (`--api-processes N` to try more API processes).

Reported per mode: requests/s, p50/p99 as wrk measured them, non-2xx answers,
executions completed in the database (every 200 must be one), and the CPU seconds
per execution summed over the server's processes (from /proc).

Run: `.venv/bin/python bench/serve_processes.py [--clients 8] [--duration 15]
[--api-processes 1,2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

JWT_SECRET = "bench-secret-" + "x" * 40
BODY = '{"topic":"bench","n":1}'
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")
"""


def e2e3_graph() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    def node(node_id: str, kind: str, y: int, **data: object) -> dict[str, object]:
        return {"id": node_id, "type": kind, "position": {"x": 0, "y": y}, "data": data}

    nodes = [
        node("in", "input", 0),
        node("set", "transform", 100, value={"topic": "{{ input.topic }}", "n": "{{ input.n }}"}),
        node("calc", "transform", 200, value={"n2": "{{ input.n * 2 }}", "processed": True}),
        node("cond", "condition", 300, cases=[{"handle": "yes", "when": "input.topic == 'bench'"}]),
        node("out", "output", 400, value="{{ nodes.calc.output }}"),
    ]
    edges: list[dict[str, object]] = [
        {"id": "e1", "source": "in", "target": "set"},
        {"id": "e2", "source": "set", "target": "calc"},
        {"id": "e3", "source": "calc", "target": "cond"},
        {"id": "e4", "source": "cond", "target": "out", "sourceHandle": "yes"},
    ]
    return nodes, edges


async def seed(url: str) -> tuple[uuid.UUID, str]:
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
            nodes, edges = e2e3_graph()
            workflow = models.Workflow(user_id=user.id, name="e2e3", nodes=nodes, edges=edges)
            session.add(workflow)
            await session.flush()
            issued = await webhooks.create_webhook(session, Actor(user.id, Role.USER), workflow.id)
            return issued.webhook.id, issued.api_key
    finally:
        await db.dispose()


async def completed(url: str) -> int:
    from sqlalchemy import text

    from relayflow.store.db import Database

    db = Database(url)
    try:
        async with db.session() as session:
            found = await session.scalar(
                text("SELECT count(*) FROM executions WHERE status = 'completed'")
            )
            return int(found or 0)
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu_seconds(root: int) -> float:
    """CPU (user + system) of `root` and every process below it, from /proc."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == pid]
        tree.update(kids)
        frontier += kids
    return sum(cpu.get(pid, 0.0) for pid in tree)


async def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not come up")


@dataclass
class Figures:
    label: str
    rate: float
    p50_ms: float
    p99_ms: float
    answers: int
    non_2xx: int
    done: int
    cpu_ms: float


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"cannot read a latency from {text!r}")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def wrk(url: str, key: str, script: Path, *, clients: int, duration: int) -> str:
    command = [
        "wrk", "-t2", f"-c{clients}", f"-d{duration}s", "--latency", "--timeout", "15s",
        "-s", str(script), url,
    ]  # fmt: skip
    env = {**os.environ, "BENCH_KEY": key, "BENCH_BODY": BODY}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


async def measure(label: str, args: list[str], opts: argparse.Namespace, script: Path) -> Figures:
    with tempfile.TemporaryDirectory() as data_dir:
        url = f"sqlite+aiosqlite:///{data_dir}/relayflow.db"
        hook_id, key = await seed(url)
        port = free_port()
        env = {
            **os.environ,
            "RELAYFLOW_DATA_DIR": data_dir,
            "RELAYFLOW_JWT_SECRET": JWT_SECRET,
            "RELAYFLOW_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "relayflow.cli", "serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            await wait_until_up(f"http://127.0.0.1:{port}", server)
            target = f"http://127.0.0.1:{port}/hooks/{hook_id}?wait=10"
            wrk(target, key, script, clients=opts.clients, duration=5)  # warm-up
            before_done = await completed(url)
            before_cpu = tree_cpu_seconds(server.pid)
            out = wrk(target, key, script, clients=opts.clients, duration=opts.duration)
            cpu = tree_cpu_seconds(server.pid) - before_cpu
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        done = await completed(url) - before_done
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    answers = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Figures(
        label=label,
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        answers=answers,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        done=done,
        cpu_ms=cpu / max(done, 1) * 1000,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=15, help="seconds measured per mode")
    parser.add_argument("--api-processes", default="1", help="comma-separated, e.g. 1,2")
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script_file:
        script_file.write(WRK_SCRIPT)
    script = Path(script_file.name)
    modes = [("single process", ["--single-process"])]
    modes += [
        (f"supervised, {n} API + 1 worker", ["--api-processes", n])
        for n in opts.api_processes.split(",")
    ]
    print(
        f"relayflow serve on SQLite, e2e3 with ?wait, wrk -t2 -c{opts.clients}, "
        f"{opts.duration} s measured after 5 s warm-up; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    try:
        for label, args in modes:
            started = time.perf_counter()
            f = await measure(label, args, opts, script)
            print(
                f"  {f.label:32} {f.rate:7.1f}/s  p50 {f.p50_ms:6.1f} ms  p99 {f.p99_ms:7.1f} ms"
                f"  non-2xx {f.non_2xx}  completed {f.done}/{f.answers}"
                f"  CPU {f.cpu_ms:5.2f} ms/execution  ({time.perf_counter() - started:.0f} s)"
            )
    finally:
        script.unlink()


if __name__ == "__main__":
    asyncio.run(main())
