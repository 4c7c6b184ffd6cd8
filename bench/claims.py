"""A worker's claim when one user has a long backlog: its cost, and who else gets a turn.

One user ("burst") has N pending executions and runs one short of the per-user cap
(`user_concurrency` 32), the shape of a one-user webhook burst against a worker of 32
slots; a second user ("bystander") has one pending execution, started after the whole
burst. Printed per backlog size, for this checkout and `--baseline-src`:
- whether the first claim (2 free slots) took the bystander's execution (it must: the
  burst's user is at the cap, so skipping their backlog is what fairness means);
- the time of a claim of one slot while the burst drains (the worker's steady state:
  one run ends, one slot frees, one claim), median and p90 over `--claims` claims;
- the time of a claim that finds the burst's user at the cap and takes nothing (a
  worker with more slots than the cap, or a second worker), median.
Then, for each of `--users`, that many users with four pending executions each and
nobody running: the claims of 32 slots that take them all, their count, median and
longest.
Each size runs twice: right after the rows are written (the planner's statistics
have not seen the backlog, as during a burst before autoanalyze catches up; on
SQLite, none) and after `ANALYZE`.

Run: `.venv/bin/python bench/claims.py --db postgres --baseline-src <worktree>/src`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import webhooks as hooks  # scratch databases, child interpreters

CAP = 32

CHILD = """
import asyncio, datetime as dt, json, os, statistics, time, uuid
from sqlalchemy import insert, text, update
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade

CAP = int(os.environ["BENCH_CAP"])
CLAIMS = int(os.environ["BENCH_CLAIMS"])
GRAPH = {"nodes": [], "edges": []}


def pending(workflow, user, at):
    return {"id": uuid.uuid4(), "workflow_id": workflow, "user_id": user, "status": "pending",
            "input": {}, "graph": GRAPH, "trigger": {"type": "api"}, "started_at": at,
            "updated_at": at}


async def claim(db, limit):
    began = time.perf_counter()
    result = await db.queue.claim(owner="bench", limit=limit, lease_seconds=300,
                                  user_concurrency=CAP, wait_for_disk=False)
    return result, (time.perf_counter() - began) * 1000


async def one_size(db, n, analyze):
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM executions"))
        users = []
        for name in ("burst", "bystander"):
            user = models.User(email=f"{name}-{uuid.uuid4().hex[:6]}@example.com",
                               password_hash="-", role="user")
            session.add(user)
            await session.flush()
            workflow = models.Workflow(user_id=user.id, name=name, nodes=[], edges=[])
            session.add(workflow)
            await session.flush()
            users.append((user.id, workflow.id))
        (burst, burst_flow), (bystander, bystander_flow) = users
        t0 = dt.datetime(2026, 1, 1)
        rows = [pending(burst_flow, burst, t0 + dt.timedelta(milliseconds=i))
                for i in range(n + CAP - 1)]
        for start in range(0, len(rows), 5000):
            await session.execute(insert(models.Execution), rows[start:start + 5000])
        late = pending(bystander_flow, bystander, t0 + dt.timedelta(milliseconds=n + CAP))
        await session.execute(insert(models.Execution), [late])
        oldest = [r["id"] for r in rows[:CAP - 1]]  # the burst's user runs CAP - 1
        await session.execute(update(models.Execution).where(models.Execution.id.in_(oldest))
                              .values(status="processing", lease_owner="bench"))
    if analyze:
        async with db.transaction() as session:
            await session.execute(text("ANALYZE executions"))
    first, first_ms = await claim(db, 2)
    took_bystander = late["id"] in {c.id for c in first.executions}
    times = []
    for _ in range(CLAIMS):
        async with db.transaction() as session:  # one run ends, its slot frees
            await session.execute(text(
                "UPDATE executions SET status = 'completed' WHERE id = (SELECT id FROM "
                "executions WHERE status = 'processing' ORDER BY started_at LIMIT 1)"))
        result, ms = await claim(db, 1)
        assert len(result.executions) == 1, "a claim with a free slot took nothing"
        times.append(ms)
    capped = []  # the burst's user at the cap (a worker with more slots than the cap)
    for _ in range(CLAIMS):
        result, ms = await claim(db, 1)
        assert all(c.user_id != burst for c in result.executions), "past the cap"
        capped.append(ms)
    times.sort()
    return {"n": n, "analyzed": analyze, "took_bystander": took_bystander,
            "first_ms": first_ms, "p50": statistics.median(times),
            "p90": times[int(len(times) * 0.9)], "capped": statistics.median(capped)}


async def many_users(db, users):
    # `users` users with 4 pending executions each (interleaved in time), nobody
    # running: claims of 32 slots until all are taken.
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM executions"))
        t0 = dt.datetime(2026, 1, 1)
        rows = []
        for n in range(users):
            user = models.User(email=f"many-{n}-{uuid.uuid4().hex[:6]}@example.com",
                               password_hash="-", role="user")
            session.add(user)
            await session.flush()
            workflow = models.Workflow(user_id=user.id, name="many", nodes=[], edges=[])
            session.add(workflow)
            await session.flush()
            rows += [pending(workflow.id, user.id, t0 + dt.timedelta(milliseconds=k * users + n))
                     for k in range(4)]
        await session.execute(insert(models.Execution), rows)
    times, taken = [], 0
    while taken < len(rows):
        result, ms = await claim(db, 32)
        assert result.executions, "a claim with free slots took nothing"
        taken += len(result.executions)
        times.append(ms)
    return {"users": users, "claims": len(times), "p50": statistics.median(times),
            "max": max(times)}


async def main():
    db = Database(os.environ["RELAYFLOW_DATABASE_URL"])
    await upgrade(db)
    out = []
    for n in json.loads(os.environ["BENCH_SIZES"]):
        for analyze in (False, True):
            out.append(await one_size(db, n, analyze))
    for users in json.loads(os.environ["BENCH_USERS"]):
        out.append(await many_users(db, users))
    await db.dispose()
    print(json.dumps(out))

asyncio.run(main())
"""


async def run(label: str, src: str | None, args: argparse.Namespace) -> None:
    async with hooks.scratch_database(args.db) as (url, _):
        out = hooks.run_python(CHILD, url, src)
    for row in json.loads(out.strip().splitlines()[-1]):
        if "users" in row:
            print(
                f"{label:<14} {row['users']:>4} users waiting, 4 executions each: "
                f"{row['claims']} claims of 32 slots, p50 {row['p50']:6.2f} ms, "
                f"max {row['max']:6.2f} ms",
                flush=True,
            )
            continue
        stats = "analyzed" if row["analyzed"] else "stale statistics"
        print(
            f"{label:<14} backlog {row['n']:>6}  {stats:<16}  bystander in the first claim: "
            f"{'yes' if row['took_bystander'] else 'NO '}  claim of one slot: p50 "
            f"{row['p50']:7.2f} ms  p90 {row['p90']:7.2f} ms;  at the cap: p50 "
            f"{row['capped']:7.2f} ms",
            flush=True,
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--sizes", default="200,2000,20000", help="backlogs, comma-separated")
    parser.add_argument("--claims", type=int, default=100, help="claims timed per size")
    parser.add_argument(
        "--users", default="10,100,500", help="users waiting at once, comma-separated"
    )
    parser.add_argument("--baseline-src", help="`src` of another checkout, run first")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    if min(sizes) <= args.claims:
        raise SystemExit("every backlog must be larger than --claims (each claim takes one)")
    os.environ["BENCH_SIZES"] = json.dumps(sizes)
    os.environ["BENCH_USERS"] = json.dumps([int(n) for n in args.users.split(",") if n])
    os.environ["BENCH_CLAIMS"] = str(args.claims)
    os.environ["BENCH_CAP"] = str(CAP)
    print(
        f"claims on {args.db}: per-user cap {CAP}, {args.claims} claims of one slot per size; "
        f"{hooks.machine_speed()}"
    )
    if args.baseline_src:
        await run("baseline", args.baseline_src, args)
    await run("this checkout", None, args)


if __name__ == "__main__":
    asyncio.run(main())
