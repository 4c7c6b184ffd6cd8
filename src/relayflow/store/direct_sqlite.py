"""Direct aiosqlite statements for the hot paths that start executions on SQLite.

The SQLite twin of `store.direct_pg`. Through SQLAlchemy a start cost about 4 ms
of CPU, nearly all of it in hand-offs to aiosqlite's connection thread (pool
checkout, cursor, execute, fetch, close, reset: one hop each) rather than in
SQLite, which needs about 0.05 ms for the statement itself (bench/throughput.py
reports the API's CPU per execution). Here each statement is one hop on one
long-lived connection in autocommit mode.

Values are encoded by SQLAlchemy's own bind processors for SQLite, so rows
written here read back through the ORM exactly like rows it wrote (a test
compares them).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy import Table
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url

from relayflow.store.direct_pg import PendingRow
from relayflow.store.models import Execution

_DIALECT = SQLiteDialect_aiosqlite()
_executions = cast(Table, Execution.__table__)


def _same(value: Any) -> Any:
    return value


def _bind(column: str) -> Any:
    return _executions.c[column].type.bind_processor(_DIALECT) or _same


def _result(column: str) -> Any:
    return _executions.c[column].type.result_processor(_DIALECT, None) or _same


_UUID, _JSON, _TIME = _bind("id"), _bind("input"), _bind("started_at")
read_uuid, read_json = _result("id"), _result("input")

# The same row as direct_pg.INSERT_PENDING_SQL and create_pending_execution write.
# Named parameters, so that `store.executions.copy_to_pending` runs it through
# SQLAlchemy too (inside the transaction that takes an idempotency key).
INSERT_PENDING_SQL = """
INSERT INTO executions (id, workflow_id, status, input, graph, trigger, user_id,
                        started_at, updated_at, workflow_version)
SELECT :id, f.id, 'pending', :input,
       CASE WHEN :version IS NULL
            THEN json_object('nodes', json(COALESCE(f.nodes, '[]')),
                             'edges', json(COALESCE(f.edges, '[]')))
            ELSE v.graph END,
       :trigger, :user_id, :now, :now, COALESCE(:version, f.draft_version)
FROM workflows f
LEFT JOIN workflow_versions v ON v.workflow_id = f.id AND v.number = :version
WHERE f.id = :workflow_id AND (:version IS NULL OR v.id IS NOT NULL)
"""


def bind_uuid(value: Any) -> Any:
    return _UUID(value) if value is not None else None


class DirectSqlite:
    """One autocommit aiosqlite connection, opened on first use."""

    def __init__(self, url: str, *, pragmas: Sequence[str] = (), timeout_s: float = 5.0) -> None:
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("the direct SQLite path needs a database file")
        self._path = database
        self._pragmas = pragmas
        self._timeout_s = timeout_s
        self._conn: aiosqlite.Connection | None = None
        self._opening = asyncio.Lock()

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            async with self._opening:
                if self._conn is None:
                    conn = await aiosqlite.connect(
                        self._path, timeout=self._timeout_s, isolation_level=None
                    )
                    for pragma in self._pragmas:
                        await conn.execute(pragma)
                    self._conn = conn
        return self._conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def fetchone(self, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
        conn = await self._connection()
        rows = list(await conn.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def insert_pending(self, row: PendingRow) -> bool:
        """Write (and commit) the pending row; False if its workflow no longer exists."""
        conn = await self._connection()
        cursor = await conn.execute(
            INSERT_PENDING_SQL,
            {
                "id": _UUID(row.execution_id),
                "input": _JSON(row.input),
                "trigger": _JSON(row.trigger),
                "now": _TIME(row.started_at),
                "workflow_id": _UUID(row.workflow_id),
                "user_id": bind_uuid(row.user_id),
                "version": row.version,
            },
        )
        inserted = cursor.rowcount == 1
        await cursor.close()
        return inserted
