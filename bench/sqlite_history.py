"""What a long history costs SQLite's queue operations, one operation at a time.

`bench/webhooks.py --history` measures the whole server, whose speed on this host
drifts by more than the history's effect. Here one process runs the queue's own
operations for one webhook execution, the way the API and the worker call them:
the webhook look-up and the start (API), the claim, one run batch with four
finished node runs, five events and the outcome (worker), and the outcome read
back (the API's `?wait`). It runs them on a fresh database and on one holding
`--history N` finished executions (inserted in bulk, as `bench/webhooks.py` does),
each as relayflow opens it and with every connection reading the file through a
memory map of `--mmap-mb` (`PRAGMA mmap_size`, a candidate that was measured and
dropped): four `Database`s, two on each file, taking turns every `--block`
executions for `--rounds` rounds, so that a drift of the host falls on all four
alike, and each one's writes reset the other connections' page caches as another
process's do.

Printed per operation and in all: the median time per execution of each of the
four, and the history's change against the fresh file with the map off and on.

Run: `.venv/bin/python bench/sqlite_history.py --history 1000000`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))
import webhooks  # the database helpers and the bulk history

from relayflow.domain import ExecutionStatus, NodeRunStatus, utcnow
from relayflow.engine.ports import NodeRunRecord
from relayflow.ids import time_ordered_id
from relayflow.security import hash_api_key
from relayflow.store.db import Database
from relayflow.store.node_runs import NodeRunWrites, RowIds
from relayflow.store.queue.batches import RunBatch
from relayflow.store.queue.intake import NewExecution
from relayflow.store.queue.rows import Outcome

OPERATIONS = ("find webhook", "start", "claim", "run batch", "outcome read")
NODES = ("in", "set", "cond", "out")


class Subject:
    """One database file opened with one memory-map setting."""

    def __init__(self, name: str, url: str, ids: dict[str, list[str]], mmap_mb: int) -> None:
        self.name = name
        self.db = Database(url)
        self.mmap = f"PRAGMA mmap_size={mmap_mb * 1024 * 1024}"
        if mmap_mb:
            event.listen(self.db.engine.sync_engine, "connect", self._map_the_file)
        webhook_id, key, _, _ = ids["e2e3"]
        self.webhook_id = uuid.UUID(webhook_id)
        self.digest = hash_api_key(key)
        self.times: dict[str, list[float]] = defaultdict(list)

    def _map_the_file(self, dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(self.mmap)
        cursor.close()

    async def open(self) -> None:
        """Open the hot paths' two connections, with the map when it is on."""
        for driver in (self.db.direct_sqlite(), self.db.sqlite_writer()):
            await driver.fetchone(self.mmap, ())

    async def one_execution(self) -> None:
        queue, timed = self.db.queue, self.times
        at = time.perf_counter()
        target = await queue.find_webhook(self.webhook_id, self.digest)
        assert target is not None, "the webhook was not found"
        at = _lap(timed["find webhook"], at)
        new = NewExecution(time_ordered_id(), {"topic": "bench", "n": 1}, {"type": "webhook"})
        await queue.create_from_webhook(target, new)
        at = _lap(timed["start"], at)
        claim = await queue.claim(owner="bench", limit=1, lease_seconds=30)
        (run,) = claim.executions
        at = _lap(timed["claim"], at)
        written = await queue.write_batch(_finished(run.id, run.lease_token))
        assert written.lost == set(), "the lease was lost"
        at = _lap(timed["run batch"], at)
        outcomes = await queue.settled_outcomes([run.id])
        assert outcomes[run.id]["status"] == "completed", outcomes
        _lap(timed["outcome read"], at)


def _lap(into: list[float], since: float) -> float:
    now = time.perf_counter()
    into.append(now - since)
    return now


def _finished(execution_id: uuid.UUID, lease_token: int) -> RunBatch:
    """The e2e3 run's writes: four finished nodes, their events, the outcome."""
    now = utcnow().timestamp()
    rows, writes = RowIds(), NodeRunWrites()
    for node in NODES:
        record = NodeRunRecord(
            execution_id, node, 0, 1, NodeRunStatus.COMPLETED,
            input={"topic": "bench", "n": 1}, output={"n2": 2}, started_at=now, finished_at=now,
        )  # fmt: skip
        rows.plan(record, writes)
    events: list[tuple[uuid.UUID, str, dict[str, Any]]] = [
        (execution_id, "execution.status", {"status": "processing"}),
        *((execution_id, "node.completed", {"node_id": node}) for node in NODES),
    ]
    outcome = Outcome(execution_id, lease_token, ExecutionStatus.COMPLETED, output={"n2": 2})
    return RunBatch({execution_id: lease_token}, writes, events, [outcome])


async def prepare(scratch: Path, history: int) -> dict[str, tuple[str, dict[str, list[str]]]]:
    files = {}
    for name, rows in (("fresh", 0), (f"history {history}", history)):
        url = f"sqlite+aiosqlite:///{scratch / f'{name.split()[0]}.db'}"
        ids = webhooks.seed(url, None)
        if rows:
            seconds = await webhooks.seed_history(url, ids, rows)
            print(f"  ({rows} finished executions seeded in {seconds:.0f} s)")
        files[name] = (url, ids)
    return files


def report(subjects: list[Subject]) -> None:
    def per_execution(subject: Subject, operation: str | None) -> float:
        if operation is not None:
            return statistics.median(subject.times[operation]) * 1000
        totals = zip(*(subject.times[o] for o in OPERATIONS), strict=True)
        return statistics.median(sum(each) for each in totals) * 1000

    print(f"{'median ms per execution':<24}" + "".join(f"{s.name:>26}" for s in subjects))
    for operation in (*OPERATIONS, None):
        row = [per_execution(s, operation) for s in subjects]
        changes = [
            f"history {after / before - 1:+.1%} (map {mmap})"
            for mmap, before, after in (("off", row[0], row[1]), ("on", row[2], row[3]))
        ]
        print(
            f"{operation or 'in all':<24}" + "".join(f"{value:26.3f}" for value in row)
            + "   " + ", ".join(changes)
        )  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=100, help="executions per turn")
    parser.add_argument("--mmap-mb", type=int, default=2048, help="the map when it is on")
    args = parser.parse_args()
    print(
        f"SQLite queue operations, fresh and with {args.history} executions of history, "
        f"memory map off and {args.mmap_mb} MB; {args.rounds} rounds of {args.block} "
        f"executions each; {webhooks.machine_speed()}"
    )
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as scratch:
        files = await prepare(Path(scratch), args.history)
        subjects = [
            Subject(f"{name}, map {'on' if mmap else 'off'}", url, ids, mmap)
            for mmap in (0, args.mmap_mb)
            for name, (url, ids) in files.items()
        ]
        try:
            for subject in subjects:  # warm-up: open the connections, read the schema
                await subject.open()
                for _ in range(10):
                    await subject.one_execution()
                subject.times.clear()
            for _ in range(args.rounds):
                for subject in subjects:
                    for _ in range(args.block):
                        await subject.one_execution()
            report(subjects)
        finally:
            for subject in subjects:
                await subject.db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
