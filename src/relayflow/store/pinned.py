"""A connection kept out of the pool for one hot loop (the worker's journal and claims on
SQLite; on PostgreSQL they use the direct asyncpg pool).

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
                self._db.sessions(bind=conn) as session,
                session.begin(),
            ):
                yield session
        except BaseException:
            # Whatever failed, start the next transaction on a fresh connection.
            await self.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except Exception:  # already broken; nothing to give back
                await conn.invalidate()
