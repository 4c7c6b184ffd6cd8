"""The queue on PostgreSQL: its statements on the database's asyncpg pool.

Workers are woken after each commit through `signals` (a coalesced NOTIFY, never
one inside the writing transaction).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from sqlalchemy import text

from relayflow import errors
from relayflow.domain import utcnow
from relayflow.store.queue import claim, leases, signals
from relayflow.store.queue.batches import (
    BatchWritten,
    RunBatch,
    announce_settled,
    run_batch_values,
)
from relayflow.store.queue.drivers import DROPPED_CONNECTION
from relayflow.store.queue.events import SETTLED_STATUSES
from relayflow.store.queue.intake import (
    Created,
    FoundWebhook,
    NewExecution,
    Starter,
    StartTarget,
    WebhookTarget,
    published_version,
    role_of,
    schema_of,
    webhook_vanished,
    workflow_vanished,
)
from relayflow.store.queue.interface import LocalWorker, SettledCallbacks
from relayflow.store.queue.rows import (
    BACKLOG_QUERY,
    Backlog,
    Claim,
    LeaseState,
    PendingRow,
    ReapedExecution,
    pending_params,
    settled_payload,
)
from relayflow.store.queue.statements import POSTGRES
from relayflow.store.queue.statements.batches import PG_RUN_BATCH
from relayflow.store.queue.statements.claims import (
    PG_CLAIM_OF_USERS,
    PG_LOCK_USERS,
    PG_SETTLED,
    PG_TRY_REAPER_LOCK,
)
from relayflow.store.queue.statements.starts import (
    PG_CLAIM_KEY_AND_INSERT,
    PG_FIND_STARTER,
    PG_FIND_WEBHOOK,
    PG_FIND_WEBHOOK_AND_START,
    PG_KEY_HOLDER,
    PG_PENDING_ROW,
)

if TYPE_CHECKING:
    from relayflow.store.db import Database


T = TypeVar("T")


class CommittedBefore:
    """`PostgresQueue._write_retried`: the first attempt committed before the drop."""


def _json(value: Any) -> Any:
    return json.loads(value) if value is not None else None


def _webhook_target(row: asyncpg.Record) -> WebhookTarget:
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
        input_schema=schema_of(_json(row["input_schema"])),
        published_version=row["published_version"],
    )


class PostgresQueue:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.settled = SettledCallbacks()
        # Not used: claimers in other processes could take the user past the cap.
        self.local_worker: LocalWorker | None = None

    async def close(self) -> None:
        # The pool is the database's; only the wake-ups still in flight are ours.
        await self._db.signals.flush()

    def _wake_workers(self) -> None:
        # After the commit, coalesced with every other signal of this process.
        self._db.signals.send_committed(signals.WORK)

    async def _insert_pending(self, row: PendingRow) -> bool:
        """Write (and commit) the pending row; False if its workflow no longer exists.

        A retry after a dropped connection reuses the row id, so a first attempt
        that did commit shows up as a unique violation, never as a second row.
        """
        args = PG_PENDING_ROW.arguments(pending_params(row, POSTGRES))
        status = await self._write_retried(lambda pool: pool.execute(PG_PENDING_ROW.sql, *args))
        return isinstance(status, CommittedBefore) or status == "INSERT 0 1"

    async def _write_retried(
        self, write: Callable[[asyncpg.Pool], Awaitable[T]]
    ) -> T | CommittedBefore:
        """`write` on the pool, once more if the server dropped the connection. A write
        keyed by a new row's id may have committed before the drop: its retry then meets
        a unique violation, and `CommittedBefore` is returned."""
        pool = await self._db.direct_pg().connections()
        try:
            return await write(pool)
        except DROPPED_CONNECTION:
            try:
                return await write(pool)
            except asyncpg.UniqueViolationError:
                return CommittedBefore()

    # ------------------------------------------------------------ starting
    async def find_webhook(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None:
        row = await self._db.direct_pg().fetchrow(
            PG_FIND_WEBHOOK.sql,
            *PG_FIND_WEBHOOK.arguments({"webhook_id": webhook_id, "key_digest": key_digest}),
        )
        return None if row is None else _webhook_target(row)

    async def find_webhook_and_start(
        self, webhook_id: uuid.UUID, key_digest: str, *, key_in_query: bool, plain: NewExecution
    ) -> FoundWebhook | None:
        values = {
            "webhook_id": webhook_id,
            "key_digest": key_digest,
            "key_in_query": key_in_query,
            "id": plain.execution_id,
            "input": json.dumps(plain.input),
            "trigger": json.dumps(plain.trigger),
            "now": utcnow(),
        }
        args = PG_FIND_WEBHOOK_AND_START.arguments(values)
        row = await self._write_retried(
            lambda pool: pool.fetchrow(PG_FIND_WEBHOOK_AND_START.sql, *args)
        )
        if isinstance(row, CommittedBefore):
            target = await self.find_webhook(webhook_id, key_digest)
            if target is None:  # deleted since, with its workflow and the row
                return None
            self._wake_workers()
            return FoundWebhook(target, started=True)
        if row is None:
            return None
        started = row["created"] is not None
        if started:
            self._wake_workers()
        return FoundWebhook(_webhook_target(row), started)

    async def create_from_webhook(self, target: WebhookTarget, new: NewExecution) -> Created:
        pending = PendingRow(
            execution_id=new.execution_id,
            workflow_id=target.workflow_id,
            user_id=target.owner_id,  # a webhook's runs belong to the workflow's owner
            input=new.input,
            trigger=dict(new.trigger),
            version=published_version(target),
        )
        if new.idempotency_key is None:
            if not await self._insert_pending(pending):
                raise webhook_vanished(target)
            self._wake_workers()
            return Created(new.execution_id, replayed=False)
        values = {
            **pending_params(pending, POSTGRES),
            "webhook_id": target.id,
            "key": new.idempotency_key,
            "cutoff": pending.started_at - dt.timedelta(seconds=new.idempotency_window_s),
        }
        pool = await self._db.direct_pg().connections()
        for _ in range(2):  # a second pass if the key's holder vanished in between
            try:
                row = await pool.fetchrow(
                    PG_CLAIM_KEY_AND_INSERT.sql, *PG_CLAIM_KEY_AND_INSERT.arguments(values)
                )
            except asyncpg.ForeignKeyViolationError as exc:  # key taken, workflow gone
                raise webhook_vanished(target) from exc
            except DROPPED_CONNECTION:
                continue  # retried: a first attempt that did commit now holds the key
            assert row is not None
            if row["created"] is not None:
                self._wake_workers()
                return Created(new.execution_id, replayed=False)
            if row["taken"] is not None:  # key taken but no workflow row to copy
                raise webhook_vanished(target)
            holder = await pool.fetchval(PG_KEY_HOLDER, target.id, new.idempotency_key)
            if holder is not None:
                return Created(holder, replayed=holder != new.execution_id)
        raise errors.InternalError(
            f"idempotency key {new.idempotency_key!r}: neither taken nor readable"
        )

    async def find_starter(self, user_id: uuid.UUID, workflow_id: uuid.UUID) -> Starter | None:
        row = await self._db.direct_pg().fetchrow(PG_FIND_STARTER, user_id, workflow_id)
        if row is None:
            return None
        if row["workflow_id"] is None:
            return Starter(role_of(row["role"]), None, int(row["session_generation"] or 0))
        target = StartTarget(
            workflow_id=row["workflow_id"],
            owner_id=row["owner_id"],
            is_public=bool(row["is_public"]),
            input_schema=schema_of(_json(row["input_schema"])),
            draft_version=row["draft_version"],
        )
        return Starter(role_of(row["role"]), target, int(row["session_generation"] or 0))

    async def start(self, row: PendingRow, *, wait: bool = False) -> None:
        if not await self._insert_pending(row):
            raise workflow_vanished(row.workflow_id)
        self._wake_workers()

    # ------------------------------------------------------------ working
    async def claim(
        self,
        *,
        owner: str,
        limit: int,
        lease_seconds: float,
        user_concurrency: int | None = None,
        wait_for_disk: bool = True,
    ) -> Claim:
        # One statement without BEGIN/COMMIT, so that claims finding nothing (every
        # worker wakes on every NOTIFY) cost one round trip each; a second, locked
        # pass only for users who could otherwise pass their cap.
        if limit <= 0:
            return Claim([], more_pending=False)
        now = utcnow()
        params = claim.claim_params(
            owner, limit, user_concurrency, wait_for_disk, now, lease_seconds
        )
        pool = await self._db.claims_pg().connections()

        async def fetch(values: Mapping[str, Any]) -> list[Mapping[str, Any]]:
            return await claim.fetch_pg_claim(pool, claim.first_pass(values), values)

        async def fetch_locked(
            users: list[uuid.UUID], values: Mapping[str, Any]
        ) -> list[Mapping[str, Any]]:
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval(PG_LOCK_USERS.sql, users)
                return await claim.fetch_pg_claim(conn, PG_CLAIM_OF_USERS, values)

        return await claim.claim_in_two_passes(params, now, fetch, fetch_locked)

    async def renew_leases(
        self, *, owner: str, tokens: Mapping[uuid.UUID, int], lease_seconds: float
    ) -> dict[uuid.UUID, LeaseState]:
        if not tokens:
            return {}
        async with self._db.transaction() as session:
            await leases.commit_without_waiting_for_disk(session)
            return await leases.renew_leases(
                session, owner=owner, tokens=tokens, lease_seconds=lease_seconds
            )

    async def write_batch(self, batch: RunBatch) -> BatchWritten:
        pool = await self._db.direct_pg().connections()
        row = await pool.fetchrow(
            PG_RUN_BATCH.sql, *PG_RUN_BATCH.arguments(run_batch_values(batch))
        )
        assert row is not None
        held = set(row["held"])
        for execution_id in sorted({eid for eid, _, _ in batch.events if eid in held}):
            self._db.signals.send_committed(signals.EVENTS, str(execution_id))
        announce_settled(self._db, self.settled, batch, held)
        # Inserts the unique index turned away (a completion committed concurrently) count too.
        meant = sum(1 for r in batch.node_runs.inserts if r["execution_id"] in held)
        repeats = int(row["repeated"]) + meant - int(row["inserted"])
        return BatchWritten(set(batch.leases) - held, repeats)

    async def reap(self, *, max_lost_leases: int) -> list[ReapedExecution]:
        async with self._db.transaction() as session:
            if not (await session.execute(text(PG_TRY_REAPER_LOCK))).scalar():
                return []
            return await leases.reap_expired_leases(session, max_lost_leases=max_lost_leases)

    # ------------------------------------------------------------ watching
    async def settled_outcomes(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        rows = await self._db.direct_pg().fetch(PG_SETTLED, ids, sorted(SETTLED_STATUSES))
        return {
            row["id"]: settled_payload(
                row["status"], _json(row["output"]), row["error"], _json(row["waiting_on"])
            )
            for row in rows
        }

    async def backlog(self) -> Backlog:
        async with self._db.session() as session:
            pending, oldest = (await session.execute(BACKLOG_QUERY)).one()
        return Backlog(int(pending), oldest)
