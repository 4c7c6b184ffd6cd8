"""Fresh databases for tests: one migrated template per test session, cloned per test.

`RELAYFLOW_TEST_DB=postgres` (default `sqlite`) picks the backend; the PostgreSQL
server is `RELAYFLOW_TEST_PG` (default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg
from alembic import command
from sqlalchemy import inspect

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade

T = TypeVar("T")
PG_SERVER = os.environ.get("RELAYFLOW_TEST_PG", "postgres@127.0.0.1:5432")
BACKEND = os.environ.get("RELAYFLOW_TEST_DB", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"RELAYFLOW_TEST_DB must be sqlite or postgres, not {BACKEND!r}")


def pg_url(database: str, driver: str = "postgresql+asyncpg") -> str:
    return f"{driver}://{PG_SERVER}/{database}"


async def pg_admin() -> asyncpg.Connection:
    return await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")


async def create_pg_database(name: str, template: str | None = None) -> None:
    conn = await pg_admin()
    try:
        tpl = f" TEMPLATE {template}" if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{tpl}')
    finally:
        await conn.close()


async def drop_pg_database(name: str, admin: asyncpg.Connection | None = None) -> None:
    """Drop the database (on `admin`, an admin connection, when given)."""
    conn = admin or await pg_admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if admin is None:
            await conn.close()


@asynccontextmanager
async def empty_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no tables yet, on the backend under test (migration tests)."""
    name = f"rf_mig_{uuid.uuid4().hex[:10]}" if BACKEND == "postgres" else None
    if name:
        await create_pg_database(name)
    db = Database(pg_url(name) if name else f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        yield db
    finally:
        await db.dispose()
        if name:
            await drop_pg_database(name)


async def index_names(db: Database, table: str) -> set[str]:
    """The names of `table`'s indexes as the database reports them (migration tests)."""
    async with db.engine.connect() as conn:
        found = await conn.run_sync(lambda c: inspect(c).get_indexes(table))
    return {str(index["name"]) for index in found}


async def table_names(db: Database) -> set[str]:
    """The tables of the database (migration tests)."""
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def up_down_up(
    tmp_path: Path, revision: str, read: Callable[[Database], Awaitable[T]]
) -> tuple[T, T, T]:
    """On an empty database: `read` after upgrading to `revision`, after one step down
    from it, and after upgrading to it again (a migration test's three states)."""
    async with empty_database(tmp_path) as db:
        await upgrade(db, revision)
        upgraded = await read(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "-1"))
        downgraded = await read(db)
        await upgrade(db, revision)
        return upgraded, downgraded, await read(db)


class _BackgroundDrops:
    """Drops test databases on a thread of its own, one admin connection for all: a
    PostgreSQL DROP DATABASE takes ~0.15 s (more on a loaded machine), which a test's
    teardown need not wait for."""

    def __init__(self, dropped: Callable[[str], None]) -> None:
        self._dropped = dropped
        self._names: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="drop-test-databases", daemon=True)
        self._thread.start()

    def put(self, name: str) -> None:
        self._names.put(name)

    def close(self) -> None:
        """Wait for the drops asked for so far."""
        self._names.put(None)
        self._thread.join()

    def _run(self) -> None:
        asyncio.run(self._drain())

    async def _drain(self) -> None:
        conn = await pg_admin()
        try:
            while (name := await asyncio.to_thread(self._names.get)) is not None:
                try:
                    await drop_pg_database(name, conn)
                except asyncpg.PostgresError:
                    continue  # left for the factory's close(), which drops what remains
                self._dropped(name)
        finally:
            await conn.close()


class DatabaseFactory:
    """Makes the migrated template once, then a fresh copy for each test."""

    def __init__(self, workdir: Path) -> None:
        self.backend = BACKEND
        self.workdir = workdir
        self.template = f"rf_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._made: list[str] = []
        self._drops: _BackgroundDrops | None = None

    async def prepare(self) -> None:
        if self.backend == "postgres":
            await create_pg_database(self.template)
            db = Database(pg_url(self.template))
        else:
            db = Database(f"sqlite+aiosqlite:///{self.workdir / 'template.db'}")
        await upgrade(db)
        await db.dispose()

    async def fresh_url(self) -> str:
        name = f"rf_t_{uuid.uuid4().hex[:12]}"
        if self.backend == "postgres":
            await create_pg_database(name, template=self.template)
            self._made.append(name)
            return pg_url(name)
        path = self.workdir / f"{name}.db"
        shutil.copyfile(self.workdir / "template.db", path)
        return f"sqlite+aiosqlite:///{path}"

    async def drop(self, url: str) -> None:
        if self.backend == "postgres":
            if self._drops is None:
                self._drops = _BackgroundDrops(self._made.remove)
            self._drops.put(url.rsplit("/", 1)[1])

    def close(self) -> None:
        if self._drops is not None:
            self._drops.close()
        if self.backend == "postgres":

            async def _drop_all() -> None:
                for name in [*self._made, self.template]:
                    await drop_pg_database(name)

            asyncio.run(_drop_all())
