"""SQLite under a long write lock: another process (a backup tool, say) holds the database's
write lock for 10 s (`BEGIN IMMEDIATE`) under a running `relayflow serve` with webhook
traffic. Each delivery is answered in time, either 202 or a clear 503 (none hangs, none
is accepted and then lost), and the runs resume once the lock is gone."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relayflow.store.db import Database
from relayflow.store.migrate import upgrade
from tests.support.databases import BACKEND
from tests.support.fault_rig import (
    Installation,
    assert_each_completed_once,
    counts_by_status,
    make_owner_and_workflow,
    make_webhook,
    submit,
    wait_until,
)

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        BACKEND != "sqlite", reason="the SQLite write lock (RELAYFLOW_TEST_DB=sqlite)"
    ),
]

LOCK_S = 10.0
HOLD_THE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[Database, str, Path]]:
    path = tmp_path / "relayflow.db"
    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    await upgrade(db)
    yield db, url, path
    await db.dispose()


async def test_a_long_write_lock_answers_503_in_time_and_loses_nothing(
    sqlite_file: tuple[Database, str, Path], tmp_path: Path
) -> None:
    db, url, path = sqlite_file
    group = Installation(url, tmp_path)
    try:
        await group.serve(worker=True)
        user, workflow = await make_owner_and_workflow(db)
        hook, key = await make_webhook(db, user, workflow)
        expected = await submit(db, user, workflow, 10)  # running when the lock comes

        async def running() -> bool:
            return (await counts_by_status(db)).get("processing", 0) > 0

        await wait_until(running, timeout=30)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_THE_LOCK, str(path), str(LOCK_S)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert (await asyncio.to_thread(holder.stdout.readline)).strip() == "locked"

        accepted: dict[uuid.UUID, int] = {}
        refused: list[int] = []

        # The client's timeout: the busy timeout (5 s by default) and some slack. A
        # request that has no answer by then fails the test with a timeout error.
        async with httpx.AsyncClient(base_url=group.base_url, timeout=15) as client:

            async def deliver(n: int) -> None:
                response = await client.post(hook, json={"n": n}, headers={"X-API-Key": key})
                if response.status_code == 202:
                    accepted[uuid.UUID(response.json()["execution_id"])] = n
                    return
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "database_unavailable"
                assert response.headers["retry-after"]
                refused.append(n)

            deliveries = []
            for n in range(len(expected), len(expected) + 40):  # 12 s of deliveries
                deliveries.append(asyncio.create_task(deliver(n)))
                await asyncio.sleep(0.3)
            await asyncio.gather(*deliveries)
        await asyncio.to_thread(holder.wait, 30)

        assert refused  # the lock was felt
        assert accepted  # and deliveries after it were taken
        await assert_each_completed_once(db, {**expected, **accepted})
        group.assert_alive()
    finally:
        group.stop_all()
