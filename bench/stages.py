"""Where a synchronous webhook's time goes, stage by stage, in the real server.

Runs the e2e3 workload of `bench/webhooks.py` (8 wrk clients, `?wait=10`) against
the server that benchmark starts, with `bench/stage_probe` on the server processes'
PYTHONPATH: it stamps the wall-clock time of each stage of every execution (the
start statement(s) in the API, the claim, the engine's run, the run batch that
carries the outcome, the outcome's arrival back in the API). Printed: the median,
mean and p90 of each stage and of the whole, over every execution seen in full;
then, per process (API, worker, the PostgreSQL backends of the bench database), the
CPU each execution cost and the time its threads waited for a CPU while runnable
(the kernel's schedstat): what a stage spent waiting for its turn on the machine.
The probe's own cost is small but not nothing: compare throughput with
`bench/webhooks.py`, not with this.

Run: `.venv/bin/python bench/stages.py --db postgres` (or `--db sqlite`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import webhooks  # the server and database helpers

PROBE = Path(__file__).resolve().parent / "stage_probe"
# Each stage: from the start of one stamp to the start (or end) of the next.
STAGES = [
    ("request read to the start, API", ("accept", 0), ("start", 0)),
    ("start statement(s), API", ("start", 0), ("start", 1)),
    ("until the claim begins", ("start", 1), ("claim", 0)),
    ("claim", ("claim", 0), ("claim", 1)),
    ("claimed to engine start", ("claim", 1), ("launch", 0)),
    ("launched to the engine's start", ("launch", 0), ("engine", 0)),
    ("engine run (all nodes)", ("engine", 0), ("engine", 1)),
    ("engine's end to the outcome", ("engine", 1), ("finish", 0)),
    ("outcome queued to its batch", ("finish", 0), ("batch", 0)),
    ("run batch with the outcome", ("batch", 0), ("batch", 1)),
    ("committed to the API's news", ("batch", 1), ("settled", 0)),
    ("news to the waiting request", ("settled", 0), ("answer", 1)),
    ("whole (request read to answer)", ("accept", 0), ("answer", 1)),
]


def read_stamps(directory: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """execution id -> stage -> (first start, last end)."""
    found: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            stage, ids, started, ended = json.loads(line)
            for execution_id in ids:
                seen = found[execution_id].get(stage)
                if seen is not None:
                    started, ended = min(started, seen[0]), max(ended, seen[1])
                found[execution_id][stage] = (started, ended)
    return found


def report(found: dict[str, dict[str, tuple[float, float]]], since: float) -> list[str]:
    """Executions started at `since` or later (not the warm-up's), seen in every stage."""
    names = {stage for _, (a, _i), (b, _j) in STAGES for stage in (a, b)}
    whole = [
        stamps
        for stamps in found.values()
        if names <= stamps.keys() and stamps["start"][0] >= since
    ]
    lines = [f"executions seen in full: {len(whole)}"]
    for label, (first, i), (second, j) in STAGES:
        spans = sorted(1000 * (s[second][j] - s[first][i]) for s in whole)
        if not spans:
            continue
        lines.append(
            f"  {label:30} p50 {spans[len(spans) // 2]:6.2f} ms  "
            f"mean {statistics.fmean(spans):6.2f}  p90 {spans[int(len(spans) * 0.9)]:6.2f}"
        )
    return lines


def process_groups(server: webhooks.Server, backends: list[int]) -> dict[str, list[int]]:
    """The server's processes by role (from their command lines), and the backends."""
    groups: dict[str, list[int]] = defaultdict(list)
    for process in server.processes:
        tree = webhooks._tree(process.pid)
        for pid in tree:
            with contextlib.suppress(OSError):
                args = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
                if "worker" in args:
                    groups["worker"].append(pid)
                elif pid == process.pid and len(tree) > 1:  # `serve` supervising children
                    groups["supervisor"].append(pid)
                else:
                    groups["API"].append(pid)
    if backends:
        groups["PostgreSQL backends"] = backends
    return groups


def scheduling(groups: dict[str, list[int]]) -> dict[str, tuple[float, float]]:
    """Seconds on a CPU and seconds runnable but waiting for one, per group (all threads)."""
    totals = {}
    for role, pids in groups.items():
        ran = waited = 0
        for pid in pids:
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError):
                    fields = (task / "schedstat").read_text().split()
                    ran, waited = ran + int(fields[0]), waited + int(fields[1])
        totals[role] = (ran / 1e9, waited / 1e9)
    return totals


async def backend_pids(url: str) -> list[int]:
    if not url.startswith("postgresql"):
        return []
    conn = await webhooks.connect_pg(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


def scheduling_lines(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]], runs: int
) -> list[str]:
    lines = ["per execution, by process: CPU, and time runnable but waiting for a CPU"]
    for role, (ran, waited) in after.items():
        ran0, waited0 = before.get(role, (0.0, 0.0))
        lines.append(
            f"  {role:30} CPU {1000 * (ran - ran0) / runs:5.2f} ms  "
            f"waiting for a CPU {1000 * (waited - waited0) / runs:5.2f} ms"
        )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=5, help="seconds measured")
    args = parser.parse_args()
    async with webhooks.scratch_database(args.db) as (url, scratch):
        stamps = scratch / "stamps"
        stamps.mkdir()
        script = scratch / "post.lua"
        script.write_text(webhooks.WRK_SCRIPT)
        os.environ["PYTHONPATH"] = str(PROBE)
        os.environ["RELAYFLOW_BENCH_STAGES_DIR"] = str(stamps)
        webhook_id, key, workflow_id, _ = webhooks.seed(url, None)["e2e3"]
        server = webhooks.start_server(url, None)
        try:
            await webhooks.wait_until_up(server)
            target = f"{server.base}/hooks/{webhook_id}?wait=10"
            webhooks.run_wrk(target, key, script, args.clients, 3)  # warm-up
            await webhooks.wait_drained(url, workflow_id, 120)
            groups = process_groups(server, await backend_pids(url))
            before = scheduling(groups)
            since = time.time()
            load = webhooks.run_wrk(target, key, script, args.clients, args.duration)
            after = scheduling(groups)
            await asyncio.sleep(1.5)  # the probe's last write
        finally:
            server.stop()
        found = read_stamps(stamps)
    print(
        f"e2e3 on {args.db}, {args.clients} clients, {args.duration} s: {load.rate:.1f}/s, "
        f"p50 {load.p50_ms:.1f} ms (wrk); {webhooks.machine_speed()}"
    )
    print("\n".join(report(found, since)))
    print("\n".join(scheduling_lines(before, after, max(load.requests, 1))))


if __name__ == "__main__":
    asyncio.run(main())
