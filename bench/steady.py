"""Sustained load: webhooks at a steady offered rate, not a closed-loop burst.

wrk's closed loop sends the next request only when an answer arrives, so it
measures how fast the server can answer, not whether the worker keeps up. Here
requests are sent on a schedule (request i at start + i / rate, whatever the
answers do: an open loop) for `--duration` seconds to the ingest workflow
(`POST /hooks/{id}`: input -> transform -> output, answered 202 once stored), on
the server `bench/webhooks.py` starts (SQLite: `relayflow serve`; PostgreSQL:
`serve --no-worker` plus one `relayflow worker`).

Printed: the rate achieved and how late the sender fell behind its schedule, the
answers' p50/p99, the backlog (pending + processing) each 5 s, then for every
execution its time from webhook to completion (`completed_at - started_at` in the
database): p50, p99, max, and the share done within 1 s, split into the wait in
the queue (`claimed_at - started_at`) and the time the run held a worker's slot
(`completed_at - claimed_at`). A flat backlog and a p99 under 1 s mean the worker
keeps up at that rate. With `--history N`, N
finished executions are inserted in bulk first; RSS of each server process is
printed at the start, with every backlog report, and at the end of the load.

With `--baseline-src DIR` (the `src` of another checkout) the same run is made with
that code first.

Run: `.venv/bin/python bench/steady.py --db postgres --rate 600 --duration 60`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))
import webhooks as hooks  # the server and database helpers

CONNECTIONS = 64  # enough that answers never hold the schedule back below ~3000/s


class Sender:
    """Keep-alive HTTP/1.1 connections, each sending when its previous answer is in."""

    def __init__(self, base: str, path: str, key: str) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        body = hooks.BODY.encode()
        self.request = (
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    async def open(self, n: int) -> None:
        for _ in range(n):
            self.idle.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def send(self) -> None:
        reader, writer = await self.idle.get()
        started = time.perf_counter()
        writer.write(self.request)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        self.latencies.append(time.perf_counter() - started)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.idle.put_nowait((reader, writer))


async def backlog(url: str, workflow_id: str) -> int:
    counts = await hooks.executions_by_status(url, workflow_id)
    return counts.get("pending", 0) + counts.get("processing", 0)


async def completion_delays(
    url: str, workflow_id: str, since: float
) -> list[tuple[float, float, float]]:
    """Per execution of the workflow started after `since` (epoch seconds; the database
    keeps naive UTC): seconds from webhook to completion, from webhook to its claim
    (waiting in the queue), and from its claim to completion (holding a slot)."""
    import datetime as dt

    after = dt.datetime.fromtimestamp(since - 1, dt.UTC).replace(tzinfo=None)
    query = (
        "SELECT started_at, claimed_at, completed_at FROM executions WHERE workflow_id = {} "
        "AND status = 'completed' AND started_at >= {}"
    )
    if url.startswith("postgresql"):
        conn = await hooks.connect_pg(url)
        try:
            rows = await conn.fetch(query.format("$1", "$2"), uuid.UUID(workflow_id), after)
        finally:
            await conn.close()
        stamps = [(r[0], r[1], r[2]) for r in rows]
    else:
        import sqlite3

        conn2 = sqlite3.connect(url.split("///", 1)[1], timeout=30)
        try:
            raw = conn2.execute(
                query.format("?", "?"), (uuid.UUID(workflow_id).hex, after.isoformat(sep=" "))
            ).fetchall()
        finally:
            conn2.close()
        stamps = [tuple(dt.datetime.fromisoformat(v) for v in row) for row in raw]
    return [
        (
            (done - started).total_seconds(),
            (claimed - started).total_seconds(),
            (done - claimed).total_seconds(),
        )
        for started, claimed, done in stamps
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


async def run(label: str, src: str | None, args: argparse.Namespace) -> None:
    async with hooks.scratch_database(args.db) as (url, _):
        server: hooks.Server | None = None
        try:
            ids = hooks.seed(url, src)
            if args.history:
                seconds = await hooks.seed_history(url, ids, args.history)
                print(f"({args.history} finished executions seeded in {seconds:.1f} s)")
            webhook_id, key, workflow_id, _ = ids["ingest"]
            server = hooks.start_server(url, src)
            await hooks.wait_until_up(server)
            print(
                f"{label}: relayflow on {args.db}, {args.rate:.0f} webhooks/s offered for "
                f"{args.duration} s (ingest, answered 202); {os.cpu_count()} cores, load average "
                f"{os.getloadavg()[0]:.1f}; RSS at start {[round(r) for r in server.rss_mb()]} MB"
            )
            sender = Sender(server.base, f"/hooks/{webhook_id}", key)
            await sender.open(CONNECTIONS)
            total = int(args.rate * args.duration)
            began = time.time()
            start = time.perf_counter()
            tasks: list[asyncio.Task[None]] = []
            worst_lag = 0.0
            next_report = 5.0
            for i in range(total):
                due = start + i / args.rate
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                else:
                    worst_lag = max(worst_lag, now - due)
                tasks.append(asyncio.create_task(sender.send()))
                if now - start >= next_report:
                    rss = [round(r) for r in server.rss_mb()]
                    print(
                        f"  at {next_report:4.0f} s ({i} sent): backlog "
                        f"{await backlog(url, workflow_id)}, RSS {rss} MB"
                    )
                    next_report += 5.0
            await asyncio.gather(*tasks)
            sent_s = time.perf_counter() - start
            print(
                f"  sent {total} in {sent_s:.1f} s ({total / sent_s:.0f}/s), sender at most "
                f"{worst_lag * 1000:.0f} ms behind schedule; answers {sender.statuses}, "
                f"p50 {percentile(sender.latencies, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(sender.latencies, 0.99) * 1000:.1f} ms"
            )
            drain = await hooks.wait_drained(url, workflow_id, 300)
            print(f"  backlog drained {drain:.1f} s after the last answer")
            print(f"  RSS at the end {[round(r) for r in server.rss_mb()]} MB")
            stamps = await completion_delays(url, workflow_id, began)
            delays = [whole for whole, _, _ in stamps]
            within = sum(1 for d in delays if d <= 1.0) / max(1, len(delays))
            print(
                f"  webhook -> completed, {len(delays)} executions: "
                f"p50 {statistics.median(delays) * 1000:.0f} ms, "
                f"p99 {percentile(delays, 0.99) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms, "
                f"{within:.1%} within 1 s"
            )
            for name, part in (("queued until claimed", 1), ("claimed until completed", 2)):
                values = [row[part] for row in stamps]
                print(
                    f"    {name}: p50 {statistics.median(values) * 1000:.1f} ms, "
                    f"p90 {percentile(values, 0.9) * 1000:.1f} ms, "
                    f"p99 {percentile(values, 0.99) * 1000:.1f} ms"
                )
        finally:
            if server is not None:
                server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--rate", type=float, default=600, help="webhooks per second offered")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--history", type=int, default=0, help="finished executions to seed")
    parser.add_argument("--baseline-src", help="`src` of another checkout, run first")
    args = parser.parse_args()
    print(hooks.machine_speed())
    if args.baseline_src:
        await run("baseline", args.baseline_src, args)
    await run("this checkout", None, args)


if __name__ == "__main__":
    asyncio.run(main())
