"""SQLite's hot-path writers take turns at the write lock (`store.queue.write_turns`) and
run their transactions whole on a thread (`DirectSqlite.transaction`)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from relayflow.store.db import Database
from relayflow.store.migrate import upgrade
from relayflow.store.queue import signals
from relayflow.store.queue.local_bus import LocalBus
from relayflow.store.queue.write_turns import WriteTurns, turns_file
from tests.support.databases import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's writers")

HOLD_THE_TURN = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/relayflow.db", sqlite_busy_timeout_s=1.0)
    await upgrade(database)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE probe (execution_id TEXT)"))
    yield database
    await database.dispose()


def _database_file(db: Database) -> str:
    return str(db.engine.url.database)


async def test_two_writers_of_one_process_wait_for_each_other(db: Database) -> None:
    first, second = WriteTurns(_database_file(db)), WriteTurns(_database_file(db))
    order: list[str] = []
    holding = threading.Event()

    def hold() -> None:
        with first.turn():
            order.append("first in")
            holding.set()
            time.sleep(0.2)
            order.append("first out")

    def take() -> None:
        holding.wait()
        with second.turn():
            order.append("second in")

    try:
        await asyncio.gather(asyncio.to_thread(hold), asyncio.to_thread(take))
    finally:
        first.close()
        second.close()
    assert order == ["first in", "first out", "second in"]


async def test_a_stopped_holder_makes_writes_fail_after_the_busy_timeout_not_hang(
    db: Database,
) -> None:
    path = turns_file(_database_file(db))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_TURN, str(path), "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert (await asyncio.to_thread(holder.stdout.readline)).strip() == "held"
        started = time.monotonic()
        with pytest.raises(Exception, match=r"locked.*write turn.*sqlite_busy_timeout_s"):
            await db.direct_sqlite().execute(
                "UPDATE executions SET status = status WHERE id = :id", {"id": "none"}
            )
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert 0.9 <= waited < 5, waited  # the busy timeout of 1 s, not forever
    # Once the holder is gone, writes go through again.
    assert await db.direct_sqlite().execute("UPDATE executions SET status = status", {}) == 0


async def test_the_turns_file_is_never_taken_for_a_listening_process(db: Database) -> None:
    turns = WriteTurns(_database_file(db))
    with turns.turn():
        pass  # the file now exists in the signals directory
    bus = LocalBus(_database_file(db))
    try:
        bus.send([(signals.WORK, "")])  # with no process listening: nobody to send to
        assert bus._listed_peers() == []
        assert turns_file(_database_file(db)).exists()
    finally:
        bus.close()
        turns.close()


def _insert(conn: sqlite3.Connection, execution_id: uuid.UUID) -> str:
    conn.execute("INSERT INTO probe VALUES (?)", (execution_id.hex,))
    return execution_id.hex


async def _probes(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(text("SELECT count(*) FROM probe")) or 0)


async def test_a_writer_transaction_commits_whole_and_returns_its_result(db: Database) -> None:
    execution_id = uuid.uuid4()
    assert (
        await db.sqlite_writer().transaction(lambda conn: _insert(conn, execution_id))
        == execution_id.hex
    )
    assert await _probes(db) == 1


async def test_a_failed_writer_transaction_writes_nothing_and_the_next_one_works(
    db: Database,
) -> None:
    def insert_then_fail(conn: sqlite3.Connection) -> None:
        _insert(conn, uuid.uuid4())
        raise ValueError("the work failed")

    with pytest.raises(ValueError, match="the work failed"):
        await db.sqlite_writer().transaction(insert_then_fail)
    await db.sqlite_writer().transaction(lambda conn: _insert(conn, uuid.uuid4()))
    assert await _probes(db) == 1


async def test_a_write_that_gave_up_waiting_for_its_turn_never_runs_later(
    db: Database,
) -> None:
    turns = WriteTurns(_database_file(db))
    release = threading.Event()

    def hold() -> None:
        with turns.turn():
            release.wait(10)

    holder = asyncio.create_task(asyncio.to_thread(hold))
    try:
        await asyncio.sleep(0.1)
        with pytest.raises(sqlite3.OperationalError, match="write turn"):
            await db.sqlite_writer().transaction(lambda conn: _insert(conn, uuid.uuid4()))
    finally:
        release.set()
        await holder
        turns.close()
    # The writer thread gets the turn once it is let go, and skips the abandoned write.
    await db.sqlite_writer().transaction(lambda conn: _insert(conn, uuid.uuid4()))
    assert await _probes(db) == 1
