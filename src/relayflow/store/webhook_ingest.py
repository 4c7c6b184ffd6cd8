"""The webhook intake's database work: find the webhook, write the pending execution.

Two implementations of one small interface:
- `PostgresIngestStore`: the hot path of `POST /hooks/{id}` on PostgreSQL: two
  hand-written statements on the database's direct asyncpg pool (see
  `store.direct_pg` for why), the execution row copied from the workflow
  server-side exactly as `store.executions.create_pending_execution` writes it.
- `SqliteIngestStore`: the same on SQLite's direct connection.

Workers are woken after the commit through `store.signals` (a coalesced NOTIFY
on PostgreSQL, never one inside the ingest transaction).

Without an Idempotency-Key the only write is one INSERT in autocommit: it is
durable when it returns. With one, the key and the row commit together, and the
key's unique constraint decides between concurrent duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy.exc import IntegrityError

from relayflow import errors
from relayflow.input_schema import input_schema_of
from relayflow.store import signals
from relayflow.store.db import Database
from relayflow.store.direct_pg import (
    DROPPED_CONNECTION,
    INSERT_PENDING_INTO,
    PENDING_FROM_WORKFLOW,
    PENDING_WHERE,
    PendingRow,
)
from relayflow.store.direct_sqlite import bind_uuid, read_json, read_uuid
from relayflow.store.executions import copy_to_pending
from relayflow.store.idempotency import claim_idempotency_key


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook as the intake sees it. `input_schema` is read only if the key matched."""

    id: uuid.UUID
    workflow_id: uuid.UUID
    owner_id: uuid.UUID | None
    api_key_digest: str
    enabled: bool
    allow_query_key: bool
    require_signature: bool
    signing_secret_salt: str | None
    rate_limit_per_minute: int | None
    input_schema: Mapping[str, Any] | None  # of the published version
    published_version: int | None  # what a delivery runs; None: never published


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


def ingest_store_for(db: Database) -> IngestStore:
    if db.is_sqlite:
        return SqliteIngestStore(db)
    return PostgresIngestStore(db)


def _schema(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) and value else None


def _published(target: WebhookTarget) -> int:
    if target.published_version is None:  # the intake refuses these before creating
        raise errors.Conflict(f"workflow {target.workflow_id} has no published version")
    return target.published_version


def _vanished(target: WebhookTarget) -> errors.NotFound:
    # The workflow (and with it the webhook) was deleted while the request ran.
    return errors.NotFound(f"webhook {target.id} not found")


# ----------------------------------------------------------------- PostgreSQL
FIND_SQL = """
SELECT w.id, w.workflow_id, f.user_id AS owner_id, w.api_key, w.enabled, w.allow_query_key,
       w.require_signature, w.signing_secret_salt, w.rate_limit_per_minute,
       p.number AS published_version,
       CASE WHEN w.api_key = $2 THEN
         jsonb_path_query_first(p.graph -> 'nodes', '$[*] ? (@.type == "input")')
           -> 'data' -> 'schema'
       END AS input_schema
FROM webhooks w JOIN workflows f ON f.id = w.workflow_id
LEFT JOIN workflow_versions p ON p.workflow_id = f.id AND p.number = f.published_version
WHERE w.id = $1
"""

# The key and the row in one statement (one implicit transaction): the key is taken,
# or a key past its window taken over, and only then is the row written (as
# INSERT_PENDING_SQL writes it). A live key held by another delivery makes the
# statement wait for it, then write nothing.
CLAIM_AND_INSERT_SQL = f"""
WITH claim AS (
  INSERT INTO idempotency_keys (webhook_id, key, execution_id, created_at)
  VALUES ($8, $9, $1, $4)
  ON CONFLICT (webhook_id, key) DO UPDATE
    SET execution_id = EXCLUDED.execution_id, created_at = EXCLUDED.created_at
    WHERE idempotency_keys.created_at < $10
  RETURNING execution_id
), created AS (
  {INSERT_PENDING_INTO} {PENDING_FROM_WORKFLOW} JOIN claim ON true {PENDING_WHERE}
  RETURNING id
)
SELECT (SELECT execution_id FROM claim) AS taken, (SELECT id FROM created) AS created
"""  # noqa: S608 (built from constants only)

KEY_HOLDER_SQL = "SELECT execution_id FROM idempotency_keys WHERE webhook_id = $1 AND key = $2"


class PostgresIngestStore:
    """Two statements on the database's direct pool (see `store.direct_pg`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def close(self) -> None:
        # The pool is the database's; only the wake-ups still in flight are ours.
        await self._db.signals.flush()

    def _wake_workers(self) -> None:
        # After the commit, coalesced with every other signal of this process.
        self._db.signals.send_committed(signals.WORK)

    async def find(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None:
        row = await self._db.direct_pg().fetchrow(FIND_SQL, webhook_id, key_digest)
        if row is None:
            return None
        schema = row["input_schema"]
        return WebhookTarget(
            id=row["id"],
            workflow_id=row["workflow_id"],
            owner_id=row["owner_id"],
            api_key_digest=row["api_key"],
            enabled=bool(row["enabled"]),
            allow_query_key=row["allow_query_key"],
            require_signature=row["require_signature"],
            signing_secret_salt=row["signing_secret_salt"],
            rate_limit_per_minute=row["rate_limit_per_minute"],
            input_schema=_schema(json.loads(schema)) if schema is not None else None,
            published_version=row["published_version"],
        )

    async def create(self, target: WebhookTarget, new: NewExecution) -> Created:
        pending = PendingRow(
            execution_id=new.execution_id,
            workflow_id=target.workflow_id,
            user_id=target.owner_id,  # a webhook's runs belong to the workflow's owner
            input=new.input,
            trigger=dict(new.trigger),
            version=_published(target),
        )
        direct = self._db.direct_pg()
        if new.idempotency_key is None:
            if not await direct.insert_pending(pending):
                raise _vanished(target)
            self._wake_workers()
            return Created(new.execution_id, replayed=False)
        cutoff = pending.started_at - dt.timedelta(seconds=new.idempotency_window_s)
        pool = await direct.connections()
        for _ in range(2):  # a second pass if the key's holder vanished in between
            try:
                row = await pool.fetchrow(
                    CLAIM_AND_INSERT_SQL,
                    *pending.insert_args(),
                    target.id,
                    new.idempotency_key,
                    cutoff,
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
        raise errors.InternalError(
            f"idempotency key {new.idempotency_key!r}: neither taken nor readable"
        )


# ----------------------------------------------------------------- SQLite
SQLITE_FIND_SQL = """
SELECT w.id, w.workflow_id, f.user_id, w.api_key, w.enabled, w.allow_query_key,
       w.require_signature, w.signing_secret_salt, w.rate_limit_per_minute, p.number,
       CASE WHEN w.api_key = ?2 THEN json_extract(p.graph, '$.nodes') END
FROM webhooks w JOIN workflows f ON f.id = w.workflow_id
LEFT JOIN workflow_versions p ON p.workflow_id = f.id AND p.number = f.published_version
WHERE w.id = ?1
"""


class SqliteIngestStore:
    """Lookups and plain inserts on the direct aiosqlite connection (`store.direct_sqlite`);
    a delivery with an Idempotency-Key commits key and row in one SQLAlchemy transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        return None

    async def find(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None:
        row = await self.db.direct_sqlite().fetchone(
            SQLITE_FIND_SQL, (bind_uuid(webhook_id), key_digest)
        )
        if row is None:
            return None
        (found_id, workflow_id, owner_id, api_key, enabled, allow_query_key) = row[:6]
        require_signature, salt, rate_limit, published, nodes = row[6:]
        return WebhookTarget(
            id=read_uuid(found_id),
            workflow_id=read_uuid(workflow_id),
            owner_id=read_uuid(owner_id),
            api_key_digest=api_key,
            enabled=bool(enabled),
            allow_query_key=bool(allow_query_key),
            require_signature=bool(require_signature),
            signing_secret_salt=salt,
            rate_limit_per_minute=rate_limit,
            # The graph only for the right key: a wrong key costs what an unknown id does.
            input_schema=input_schema_of(read_json(nodes)),
            published_version=published,
        )

    async def create(self, target: WebhookTarget, new: NewExecution) -> Created:
        pending = PendingRow(
            execution_id=new.execution_id,
            workflow_id=target.workflow_id,
            user_id=target.owner_id,
            input=new.input,
            trigger=dict(new.trigger),
            version=_published(target),
        )
        if new.idempotency_key is None:
            if not await self.db.direct_sqlite().insert_pending(pending):
                raise _vanished(target)
            self.db.signals.send_committed(signals.WORK)
            return Created(new.execution_id, replayed=False)
        try:
            return await self._create_once(target, new, pending)
        except IntegrityError as exc:  # the webhook was deleted meanwhile
            raise _vanished(target) from exc

    async def _create_once(
        self, target: WebhookTarget, new: NewExecution, pending: PendingRow
    ) -> Created:
        assert new.idempotency_key is not None
        async with self.db.transaction() as session:
            holder = await claim_idempotency_key(
                session,
                webhook_id=target.id,
                key=new.idempotency_key,
                execution_id=new.execution_id,
                window_s=new.idempotency_window_s,
            )
            if holder is not None:
                return Created(holder, replayed=True)
            if not await copy_to_pending(session, pending):
                raise _vanished(target)  # rolls back: the key is released
        return Created(new.execution_id, replayed=False)
