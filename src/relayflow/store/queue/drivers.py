"""The drivers of the queue's hot paths: an asyncpg pool (PostgreSQL) and one
autocommit SQLite connection on a thread of its own, each opened on first use.

Through SQLAlchemy each small statement cost about ten times the driver's own
work (pool pre-ping, compilation, ORM flush on PostgreSQL; on SQLite one hand-off
to aiosqlite's thread per checkout, cursor, execute, fetch, close and reset), and
that dominated a start's CPU (bench/ingest.py, bench/throughput.py). The queue's
statements therefore run on these drivers; the rest of the application keeps
SQLAlchemy sessions.

On SQLite, values are encoded by SQLAlchemy's own bind processors, so rows
written here read back through the ORM exactly like rows it wrote.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast

import asyncpg
from sqlalchemy import Table
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url

from relayflow.store.models import Execution
from relayflow.store.queue.write_turns import TurnThread

T = TypeVar("T")


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL of a PostgreSQL database as a plain asyncpg DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# A pooled connection the server dropped (a restart) fails its next use; the pool
# replaces it, so one retry suffices.
DROPPED_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)

# `:name` (not `::type`) in SQL written for SQLAlchemy's text().
_NAMED_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


@dataclass(frozen=True)
class NumberedStatement:
    """SQL with asyncpg's positional parameters, and the name behind each ($1 = names[0])."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def from_named(cls, sql: str) -> NumberedStatement:
        """The same statement as SQL with `:name` parameters (as `text()` takes it)."""
        names = tuple(dict.fromkeys(_NAMED_PARAMETER.findall(sql)))
        numbered = _NAMED_PARAMETER.sub(lambda m: f"${names.index(m[1]) + 1}", sql)
        return cls(numbered, names)

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[name] for name in self.names]


async def _reset(conn: asyncpg.Connection) -> None:
    # Our statements leave no session state (no SET, LISTEN, locks or cursors), so
    # asyncpg's full reset round trip on every release is not needed.
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


# The planner settings of the connections claims run on (`Database.claims_pg`).
# Every claim statement reads executions in the order of a partial index, a few
# rows at a time (LIMIT); a bitmap or sequential scan reads every matching row
# before the limit applies. With the statistics of a new table, or those of one
# user's burst, the planner chose them anyway (a count of one user's pending rows
# read their whole backlog through a bitmap). Off, an ordered index scan is the
# only plan left that the cost model can prefer. And one generic plan per
# statement: planned for each call's values (which PostgreSQL falls back to
# after statistics change), the claim spent 1.3 ms planning for 0.6 ms of work.
CLAIM_PLANNER = {
    "enable_bitmapscan": "off",
    "enable_seqscan": "off",
    "plan_cache_mode": "force_generic_plan",
}


class DirectPool:
    """A lazily opened asyncpg pool with one retry on connections the server dropped."""

    def __init__(
        self, url: str, *, size: int = 10, settings: Mapping[str, str] | None = None
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._size = size
        # Set on each new connection (SET, not startup parameters, which a
        # connection pooler in between may refuse).
        self._settings = "; ".join(
            f"SET {name} = {value}" for name, value in (settings or {}).items()
        )
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=0,
                        max_size=self._size,
                        reset=_reset,
                        init=self._init if self._settings else None,
                    )
        return self._pool

    async def _init(self, conn: asyncpg.Connection) -> None:
        await conn.execute(self._settings)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """A read, retried once on a dropped connection."""
        pool = await self.connections()
        try:
            rows: list[asyncpg.Record] = await pool.fetch(sql, *args)
        except DROPPED_CONNECTION:
            rows = await pool.fetch(sql, *args)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """A read, retried once on a dropped connection."""
        pool = await self.connections()
        try:
            return await pool.fetchrow(sql, *args)
        except DROPPED_CONNECTION:
            return await pool.fetchrow(sql, *args)


# ----------------------------------------------------------------- SQLite values
_DIALECT = SQLiteDialect_aiosqlite()


def _same(value: Any) -> Any:
    return value


def sqlite_binders(model: Any) -> dict[str, Callable[[Any], Any]]:
    """Per column of `model`'s table: the value as SQLAlchemy's type stores it on SQLite."""
    columns = cast(Table, model.__table__).c
    return {
        c.name: c.type.dialect_impl(_DIALECT).bind_processor(_DIALECT) or _same for c in columns
    }


def sqlite_readers(model: Any) -> dict[str, Callable[[Any], Any]]:
    """Per column of `model`'s table: the stored SQLite value as SQLAlchemy reads it."""
    columns = cast(Table, model.__table__).c
    return {
        c.name: c.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None) or _same
        for c in columns
    }


_EXECUTION_IN = sqlite_binders(Execution)
_EXECUTION_OUT = sqlite_readers(Execution)
bind_json, bind_time = _EXECUTION_IN["input"], _EXECUTION_IN["started_at"]
read_uuid, read_json = _EXECUTION_OUT["id"], _EXECUTION_OUT["input"]


def bind_uuid(value: Any) -> Any:
    return _EXECUTION_IN["id"](value) if value is not None else None


class DirectSqlite:
    """One autocommit SQLite connection on a thread of its own, opened on first use.

    A write (one statement, or a `transaction`) takes the database's write turn
    first (`write_turns`), so it waits for the other writers without SQLite's
    busy-handler sleeps.
    """

    def __init__(
        self,
        url: str,
        *,
        pragmas: Sequence[str] = (),
        timeout_s: float = 5.0,
        name: str = "relayflow-sqlite-direct",
    ) -> None:
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("the direct SQLite path needs a database file")
        self._path = database
        self._pragmas = pragmas
        self._timeout_s = timeout_s
        self._thread = TurnThread(database, timeout_s=timeout_s, name=name)
        self._conn: sqlite3.Connection | None = None  # used on its thread only
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, timeout=self._timeout_s, isolation_level=None)
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._conn = conn
        return self._conn

    async def _on_thread(self, work: Callable[[], T], *, write: bool) -> T:
        if self._closed:
            raise RuntimeError("the direct SQLite connection is closed")
        return await self._thread.run(partial(self._guarded, work), write=write)

    def _guarded(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except sqlite3.IntegrityError:
            raise
        except Exception:  # the next statement starts on a fresh connection
            self._drop()
            raise

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._thread.close(self._drop)

    async def fetchone(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        def read() -> tuple[Any, ...] | None:
            row = self._connection().execute(sql, params).fetchone()
            return cast(tuple[Any, ...] | None, row)

        return await self._on_thread(read, write=False)

    async def fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        def read() -> list[tuple[Any, ...]]:
            return self._connection().execute(sql, params).fetchall()

        return await self._on_thread(read, write=False)

    async def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        """Run (and commit) one write, in its turn; returns the rows it changed."""

        def write() -> int:
            return int(self._connection().execute(sql, params).rowcount)

        return await self._on_thread(write, write=True)

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in one transaction, run whole on the thread in its turn:
        committed if it returns, rolled back if it raises.

        A transaction driven from the event loop holds SQLite's write lock (one writer
        at a time, across processes) across one loop round trip per statement: under
        load each claim or run batch held it ~7 ms and everyone queued behind it. Here
        it holds it from `BEGIN IMMEDIATE` (the lock first, so what `work` reads
        cannot change before the commit) to `COMMIT`, without going back to the loop.
        """

        def run() -> T:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._on_thread(run, write=True)
