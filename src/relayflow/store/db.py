"""Engine and session factory for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from relayflow import errors
from relayflow.store.queue.drivers import CLAIM_PLANNER, DirectPool, DirectSqlite
from relayflow.store.queue.signals import Signals
from relayflow.stored_json import load_stored_json

if TYPE_CHECKING:
    from relayflow.config import Settings
    from relayflow.store.queue.interface import Queue


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# How long a statement waits for another process's write lock (a backup tool, a long
# transaction) before failing with "database is locked", which the API answers with
# 503 (`settings.sqlite_busy_timeout_s`).
DEFAULT_SQLITE_BUSY_TIMEOUT_S = 5.0


def sqlite_pragmas(busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S) -> tuple[str, ...]:
    """WAL lets readers proceed during a write; foreign keys make CASCADE real;
    busy_timeout waits for the writer instead of failing with "locked" at once."""
    return (
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}",
        "PRAGMA synchronous=NORMAL",
    )


# The page cache of each of the hot paths' two connections. In WAL mode a connection
# drops its cache whenever another connection wrote since its last transaction, so
# it serves mostly within a transaction; with a long history the pages one
# transaction touches are spread over the whole file, more than SQLite's default
# 2 MB held. A page is cached only once used. (A memory map of the file does not
# help: SQLite unmaps it at the same moments, and the queue's operations got slower
# with one, `bench/sqlite_history.py`.)
DEFAULT_SQLITE_CACHE_MB = 32


def hot_path_cache(megabytes: int) -> str:
    """The page cache of a hot-path connection: at most `megabytes` (`sqlite_cache_mb`)."""
    return f"PRAGMA cache_size=-{megabytes * 1024}"  # negative: in KiB, not pages


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    sqlite_busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S,
) -> AsyncEngine:
    # load_stored_json: a JSON column always reads back, whatever an older row holds.
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            connect_args={"timeout": sqlite_busy_timeout_s},
            json_deserializer=load_stored_json,
        )
        pragmas = sqlite_pragmas(sqlite_busy_timeout_s)

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            for pragma in pragmas:
                cur.execute(pragma)
            cur.close()

        event.listen(engine.sync_engine, "connect", on_connect)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_deserializer=load_stored_json,
    )


class Database:
    """Owns the engine, hands out sessions and sends their signals. One per process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        sqlite_busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S,
        sqlite_cache_mb: int = DEFAULT_SQLITE_CACHE_MB,
    ) -> None:
        self.url = url
        self.sqlite_cache_mb = sqlite_cache_mb
        self._is_sqlite = is_sqlite(url)  # asked on hot paths; parsing the URL is not free
        self.sqlite_busy_timeout_s = sqlite_busy_timeout_s
        self.engine = create_engine(
            url, pool_size=pool_size, sqlite_busy_timeout_s=sqlite_busy_timeout_s
        )
        # A session class of its own: the signal listeners apply to this database only.
        session_class = type("DatabaseSession", (Session,), {})
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=session_class
        )
        self.signals = Signals(self.engine, session_class)
        self._pool_size = pool_size
        self._direct: DirectPool | None = None
        self._claims: DirectPool | None = None
        self._direct_sqlite: DirectSqlite | None = None
        self._sqlite_writer: DirectSqlite | None = None
        self._queue: Queue | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database of `settings`, with its pool and SQLite settings."""
        return cls(
            settings.resolved_database_url,
            pool_size=settings.database_pool_size,
            sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s,
            sqlite_cache_mb=settings.sqlite_cache_mb,
        )

    @property
    def is_sqlite(self) -> bool:
        return self._is_sqlite

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @property
    def queue(self) -> Queue:
        """The execution queue on this database (its implementation chosen once)."""
        if self._queue is None:
            from relayflow.store.queue.interface import queue_for

            self._queue = queue_for(self)
        return self._queue

    def direct_pg(self) -> DirectPool:
        """PostgreSQL: the asyncpg pool of the hot paths (opened on first use)."""
        if self.is_sqlite:
            raise errors.InternalError("the direct asyncpg pool is for PostgreSQL")
        if self._direct is None:
            self._direct = DirectPool(self.url, size=self._pool_size)
        return self._direct

    def claims_pg(self) -> DirectPool:
        """PostgreSQL: the asyncpg pool of claims (opened on first use), whose planner
        reads executions through the ordered partial indexes only (`CLAIM_PLANNER`)."""
        if self.is_sqlite:
            raise errors.InternalError("the claims' asyncpg pool is for PostgreSQL")
        if self._claims is None:
            self._claims = DirectPool(self.url, size=self._pool_size, settings=CLAIM_PLANNER)
        return self._claims

    def direct_sqlite(self) -> DirectSqlite:
        """SQLite: the connection of the hot paths' starts and reads (opened on first use)."""
        if self._direct_sqlite is None:
            self._direct_sqlite = self._sqlite_driver("relayflow-sqlite-direct")
        return self._direct_sqlite

    def sqlite_writer(self) -> DirectSqlite:
        """SQLite: the connection of the queue's write transactions, claims and run
        batches (`DirectSqlite.transaction`), on a thread of its own."""
        if self._sqlite_writer is None:
            self._sqlite_writer = self._sqlite_driver("relayflow-sqlite-writer")
        return self._sqlite_writer

    def _sqlite_driver(self, name: str) -> DirectSqlite:
        if not self.is_sqlite:
            raise errors.InternalError("the direct SQLite connections are for SQLite")
        return DirectSqlite(
            self.url,
            pragmas=(
                *sqlite_pragmas(self.sqlite_busy_timeout_s),
                hot_path_cache(self.sqlite_cache_mb),
            ),
            timeout_s=self.sqlite_busy_timeout_s,
            name=name,
        )

    async def dispose(self) -> None:
        if self._queue is not None:
            await self._queue.close()
            self._queue = None
        self.signals.close()
        if self._direct is not None:
            await self._direct.close()
        if self._claims is not None:
            await self._claims.close()
        if self._direct_sqlite is not None:
            await self._direct_sqlite.close()
        if self._sqlite_writer is not None:
            await self._sqlite_writer.close()
            self._sqlite_writer = None
        await self.engine.dispose()
