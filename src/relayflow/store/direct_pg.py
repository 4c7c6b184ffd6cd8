"""Direct asyncpg statements for the hot paths that start executions on PostgreSQL.

Starting an execution (a webhook delivery, `POST /workflows/{id}/executions`) is
two small statements: read what the checks need, then write the pending row.
Through SQLAlchemy each statement cost about ten times the driver's own work
(pool pre-ping, compilation, ORM flush) and dominated the request's CPU (see
bench/ingest.py and bench/throughput.py), so these paths talk to asyncpg on a
small pool of their own.

The pending row is copied from the workflow server-side (`INSERT ... SELECT`),
exactly as `store.executions.create_pending_execution` writes it (tests compare
both), so the graph never travels to Python and back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from relayflow.domain import utcnow


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

# Mirrors create_pending_execution: the graph pinned as {nodes, edges} (the draft,
# the workflow's own graph, when $7 is NULL; else version $7's), the version it
# runs, the other columns from their server defaults. $1..$7 are
# PendingRow.insert_args(); the webhook intake builds its idempotent variant from
# the same parts.
INSERT_PENDING_INTO = """
INSERT INTO executions (id, workflow_id, status, input, graph, trigger, user_id,
                        started_at, updated_at, workflow_version)
"""
PENDING_FROM_WORKFLOW = """
SELECT $1, f.id, 'pending', $2::jsonb,
       CASE WHEN $7::integer IS NULL
            THEN jsonb_build_object('nodes', COALESCE(f.nodes, '[]'::jsonb),
                                    'edges', COALESCE(f.edges, '[]'::jsonb))
            ELSE v.graph END,
       $3::jsonb, $6, $4, $4, COALESCE($7::integer, f.draft_version)
FROM workflows f
LEFT JOIN workflow_versions v ON v.workflow_id = f.id AND v.number = $7::integer
"""
# A version asked for that does not exist (any more) writes nothing.
PENDING_WHERE = "WHERE f.id = $5 AND ($7::integer IS NULL OR v.id IS NOT NULL)"
INSERT_PENDING_SQL = INSERT_PENDING_INTO + PENDING_FROM_WORKFLOW + PENDING_WHERE


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


@dataclass(frozen=True)
class PendingRow:
    """The values of a pending execution that do not come from its workflow."""

    execution_id: uuid.UUID
    workflow_id: uuid.UUID
    user_id: uuid.UUID | None
    input: Any
    trigger: dict[str, Any]
    started_at: dt.datetime = field(default_factory=utcnow)
    # The workflow version to run; None: the draft (the workflow's own graph).
    version: int | None = None

    def insert_args(self) -> tuple[Any, ...]:
        """The arguments $1..$7 of INSERT_PENDING_SQL (and the statements built on it)."""
        return (
            self.execution_id,
            json.dumps(self.input),
            json.dumps(self.trigger),
            self.started_at,
            self.workflow_id,
            self.user_id,
            self.version,
        )


async def _reset(conn: asyncpg.Connection) -> None:
    # Our statements leave no session state (no SET, LISTEN, locks or cursors), so
    # asyncpg's full reset round trip on every release is not needed.
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class DirectPool:
    """A lazily opened asyncpg pool with one retry on connections the server dropped."""

    def __init__(self, url: str, *, size: int = 10) -> None:
        self._dsn = asyncpg_dsn(url)
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=0, max_size=self._size, reset=_reset
                    )
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """A read, retried once on a dropped connection."""
        pool = await self.connections()
        try:
            return await pool.fetchrow(sql, *args)
        except DROPPED_CONNECTION:
            return await pool.fetchrow(sql, *args)

    async def insert_pending(self, row: PendingRow) -> bool:
        """Write (and commit) the pending row; False if its workflow no longer exists.

        A retry after a dropped connection reuses the row id, so a first attempt
        that did commit shows up as a unique violation, never as a second row.
        """
        args = row.insert_args()
        pool = await self.connections()
        try:
            status = await pool.execute(INSERT_PENDING_SQL, *args)
        except DROPPED_CONNECTION:
            try:
                status = await pool.execute(INSERT_PENDING_SQL, *args)
            except asyncpg.UniqueViolationError:
                status = "INSERT 0 1"
        return bool(status == "INSERT 0 1")
