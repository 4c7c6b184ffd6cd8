"""A connection kept out of the pool for one hot loop (the worker's journal and claims).

A pooled transaction pays a liveness ping at checkout and pool bookkeeping each
time; a loop that runs hundreds of small transactions a second keeps its own
connection instead, and opens a new one only after a failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from relayflow.store.db import Database


class PinnedConnection:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: AsyncConnection | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session on this connection that commits on success, rolls back on error."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = await self._db.engine.connect()
        conn = self._conn
        try:
            async with (
                AsyncSession(bind=conn, expire_on_commit=False) as session,
                session.begin(),
            ):
                yield session
        except BaseException:
            # Whatever failed, start the next transaction on a fresh connection.
            await self.close()
            raise

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncSession]:
        """A session whose every statement commits on its own (PostgreSQL): one round trip
        for a single-statement unit of work, no BEGIN or COMMIT."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = await self._db.engine.connect()
        conn = await self._conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                yield session
                await session.commit()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except Exception:  # already broken; nothing to give back
                await conn.invalidate()
