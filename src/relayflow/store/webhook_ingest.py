"""The webhook intake's database work: find the webhook, write the pending execution.

Two implementations of one small interface:
- `PostgresIngestStore`: the hot path of `POST /hooks/{id}` on PostgreSQL. It runs
  two hand-written statements on an asyncpg pool of its own: SQLAlchemy's cost per
  statement (pool pre-ping, compilation, ORM flush) was about ten times the
  driver's and dominated the intake's CPU (see bench/ingest.py). The execution row
  is copied from the workflow server-side (`INSERT ... SELECT`), exactly as
  `store.executions.create_pending_execution` writes it (a test compares both).
- `SqlAlchemyIngestStore`: the same through SQLAlchemy, for SQLite.

Workers are woken after the commit through `store.signals` (a coalesced NOTIFY
on PostgreSQL, never one inside the ingest transaction).

Without an Idempotency-Key the only write is one INSERT in autocommit: it is
durable when it returns. With one, the key and the row commit together, and the
key's unique constraint decides between concurrent duplicates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy import Table, case, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import utcnow
from relayflow.input_schema import input_schema_of
from relayflow.store import signals
from relayflow.store.db import Database
from relayflow.store.executions import create_pending_execution
from relayflow.store.idempotency import claim_idempotency_key
from relayflow.store.models import Webhook, Workflow


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook as the intake sees it. `input_schema` is read only if the key matched."""

    id: uuid.UUID
    workflow_id: uuid.UUID
    api_key_digest: str
    enabled: bool
    allow_query_key: bool
    require_signature: bool
    signing_secret_salt: str | None
    rate_limit_per_minute: int | None
    input_schema: Mapping[str, Any] | None


@dataclass(frozen=True)
class NewExecution:
    execution_id: uuid.UUID
    input: Any
    trigger: Mapping[str, Any]
    idempotency_key: str | None = None
    idempotency_window_s: float = 24 * 3600.0


@dataclass(frozen=True)
class Created:
    execution_id: uuid.UUID
    replayed: bool  # the Idempotency-Key was taken: this is the first delivery's execution


class IngestStore(Protocol):
    async def find(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None: ...

    async def create(self, target: WebhookTarget, new: NewExecution) -> Created:
        """Commit the pending execution (unless replayed), then wake workers."""
        ...

    async def close(self) -> None: ...


def ingest_store_for(db: Database, *, pool_size: int = 10) -> IngestStore:
    if db.is_sqlite:
        return SqlAlchemyIngestStore(db)
    return PostgresIngestStore(db, pool_size=pool_size)


def _schema(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) and value else None


def _vanished(target: WebhookTarget) -> errors.NotFound:
    # The workflow (and with it the webhook) was deleted while the request ran.
    return errors.NotFound(f"webhook {target.id} not found")


# ----------------------------------------------------------------- PostgreSQL
FIND_SQL = """
SELECT w.id, w.workflow_id, w.api_key, w.enabled, w.allow_query_key, w.require_signature,
       w.signing_secret_salt, w.rate_limit_per_minute,
       CASE WHEN w.api_key = $2 THEN
         jsonb_path_query_first(f.nodes, '$[*] ? (@.type == "input")') -> 'data' -> 'schema'
       END AS input_schema
FROM webhooks w JOIN workflows f ON f.id = w.workflow_id
WHERE w.id = $1
"""

# Mirrors create_pending_execution: the graph pinned as {nodes, edges}, the owner as
# the user, the other columns from their server defaults.
INSERT_SQL = """
INSERT INTO executions (id, workflow_id, status, input, graph, trigger, user_id,
                        started_at, updated_at)
SELECT $1, f.id, 'pending', $2::jsonb,
       jsonb_build_object('nodes', COALESCE(f.nodes, '[]'::jsonb),
                          'edges', COALESCE(f.edges, '[]'::jsonb)),
       $3::jsonb, f.user_id, $4, $4
FROM workflows f WHERE f.id = $5
"""

# The key and the row in one statement (one implicit transaction): the key is taken,
# or a key past its window taken over, and only then is the row written. A live key
# held by another delivery makes the statement wait for it, then write nothing.
CLAIM_AND_INSERT_SQL = """
WITH claim AS (
  INSERT INTO idempotency_keys (webhook_id, key, execution_id, created_at)
  VALUES ($6, $7, $1, $4)
  ON CONFLICT (webhook_id, key) DO UPDATE
    SET execution_id = EXCLUDED.execution_id, created_at = EXCLUDED.created_at
    WHERE idempotency_keys.created_at < $8
  RETURNING execution_id
), created AS (
  INSERT INTO executions (id, workflow_id, status, input, graph, trigger, user_id,
                          started_at, updated_at)
  SELECT $1, f.id, 'pending', $2::jsonb,
         jsonb_build_object('nodes', COALESCE(f.nodes, '[]'::jsonb),
                            'edges', COALESCE(f.edges, '[]'::jsonb)),
         $3::jsonb, f.user_id, $4, $4
  FROM workflows f JOIN claim ON true WHERE f.id = $5
  RETURNING id
)
SELECT (SELECT execution_id FROM claim) AS taken, (SELECT id FROM created) AS created
"""

KEY_HOLDER_SQL = "SELECT execution_id FROM idempotency_keys WHERE webhook_id = $1 AND key = $2"


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# A pooled connection the server dropped (a restart) fails its next use; the pool
# replaces it, so one retry suffices. Retries reuse the row id: never a second row.
DROPPED_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


async def _reset(conn: asyncpg.Connection) -> None:
    # Our statements leave no session state (no SET, LISTEN, locks or cursors), so
    # asyncpg's full reset round trip on every release is not needed.
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class PostgresIngestStore:
    def __init__(self, db: Database, *, pool_size: int = 10) -> None:
        self._db = db
        self._dsn = asyncpg_dsn(db.url)
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=0, max_size=self._pool_size, reset=_reset
                    )
        return self._pool

    async def close(self) -> None:
        await signals.flush_notifications(self._db.engine)
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def _wake_workers(self) -> None:
        # After the commit, coalesced with every other signal of this process.
        signals.notifier_for(self._db.engine.sync_engine).send(signals.WORK, "")

    async def find(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None:
        pool = await self._connections()
        try:
            row = await pool.fetchrow(FIND_SQL, webhook_id, key_digest)
        except DROPPED_CONNECTION:
            row = await pool.fetchrow(FIND_SQL, webhook_id, key_digest)
        if row is None:
            return None
        schema = row["input_schema"]
        return WebhookTarget(
            id=row["id"],
            workflow_id=row["workflow_id"],
            api_key_digest=row["api_key"],
            enabled=bool(row["enabled"]),
            allow_query_key=row["allow_query_key"],
            require_signature=row["require_signature"],
            signing_secret_salt=row["signing_secret_salt"],
            rate_limit_per_minute=row["rate_limit_per_minute"],
            input_schema=_schema(json.loads(schema)) if schema is not None else None,
        )

    async def create(self, target: WebhookTarget, new: NewExecution) -> Created:
        now = utcnow()
        insert_args = (
            new.execution_id,
            json.dumps(new.input),
            json.dumps(dict(new.trigger)),
            now,
            target.workflow_id,
        )
        pool = await self._connections()
        if new.idempotency_key is None:
            try:
                status = await pool.execute(INSERT_SQL, *insert_args)
            except DROPPED_CONNECTION:
                try:  # the same row id again: a first attempt that did commit is caught below
                    status = await pool.execute(INSERT_SQL, *insert_args)
                except asyncpg.UniqueViolationError:
                    status = "INSERT 0 1"
            if status != "INSERT 0 1":
                raise _vanished(target)
            self._wake_workers()
            return Created(new.execution_id, replayed=False)
        cutoff = now - dt.timedelta(seconds=new.idempotency_window_s)
        for _ in range(2):  # a second pass if the key's holder vanished in between
            try:
                row = await pool.fetchrow(
                    CLAIM_AND_INSERT_SQL, *insert_args, target.id, new.idempotency_key, cutoff
                )
            except asyncpg.ForeignKeyViolationError as exc:  # key taken, workflow gone
                raise _vanished(target) from exc
            except DROPPED_CONNECTION:
                continue  # retried: a first attempt that did commit now holds the key
            assert row is not None
            if row["created"] is not None:
                self._wake_workers()
                return Created(new.execution_id, replayed=False)
            if row["taken"] is not None:  # key taken but no workflow row to copy
                raise _vanished(target)
            holder = await pool.fetchval(KEY_HOLDER_SQL, target.id, new.idempotency_key)
            if holder is not None:
                return Created(holder, replayed=holder != new.execution_id)
        raise RuntimeError(f"idempotency key {new.idempotency_key!r}: neither taken nor readable")


# ----------------------------------------------------------------- SQLAlchemy (SQLite)
_webhooks = cast(Table, Webhook.__table__)
_workflows = cast(Table, Workflow.__table__)


@asynccontextmanager
async def autocommit_session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session whose statements each commit on their own, with no BEGIN/COMMIT."""
    async with db.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        async with AsyncSession(bind=autocommit, expire_on_commit=False) as session:
            yield session


class SqlAlchemyIngestStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        return None

    async def find(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None:
        w, f = _webhooks, _workflows
        query = (
            select(
                w.c.id,
                w.c.workflow_id,
                w.c.api_key,
                w.c.enabled,
                w.c.allow_query_key,
                w.c.require_signature,
                w.c.signing_secret_salt,
                w.c.rate_limit_per_minute,
                # The graph only for the right key: a wrong key costs what an unknown id does.
                case((w.c.api_key == key_digest, f.c.nodes)).label("nodes"),
            )
            .select_from(w.join(f, f.c.id == w.c.workflow_id))
            .where(w.c.id == webhook_id)
        )
        async with autocommit_session(self.db) as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        return WebhookTarget(
            id=row.id,
            workflow_id=row.workflow_id,
            api_key_digest=row.api_key,
            enabled=bool(row.enabled),
            allow_query_key=bool(row.allow_query_key),
            require_signature=bool(row.require_signature),
            signing_secret_salt=row.signing_secret_salt,
            rate_limit_per_minute=row.rate_limit_per_minute,
            input_schema=input_schema_of(row.nodes),
        )

    async def create(self, target: WebhookTarget, new: NewExecution) -> Created:
        try:
            return await self._create(target, new)
        except IntegrityError as exc:  # the webhook or workflow was deleted meanwhile
            raise _vanished(target) from exc

    async def _create(self, target: WebhookTarget, new: NewExecution) -> Created:
        sessions = self.db.sessions() if new.idempotency_key else autocommit_session(self.db)
        async with sessions as session:
            workflow = await session.get(Workflow, target.workflow_id)
            if workflow is None:
                raise _vanished(target)
            if new.idempotency_key is not None:
                holder = await claim_idempotency_key(
                    session,
                    webhook_id=target.id,
                    key=new.idempotency_key,
                    execution_id=new.execution_id,
                    window_s=new.idempotency_window_s,
                )
                if holder is not None:
                    await session.rollback()
                    return Created(holder, replayed=True)
            await create_pending_execution(
                session,
                workflow=workflow,
                input=new.input,
                trigger=new.trigger,
                user_id=workflow.user_id,
                execution_id=new.execution_id,
            )
            await session.commit()
        return Created(new.execution_id, replayed=False)
