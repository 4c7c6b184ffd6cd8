"""The queue on SQLite: starts on the database's direct autocommit connection;
claims and run batches in plain SQL (`sqlite_writes`) on the writer connection
(`Database.sqlite_writer`), one at a time, each holding the write lock only while
its statements run. Workers are woken in process and over the local bus (`signals`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from relayflow.domain import utcnow
from relayflow.store.idempotency import claim_idempotency_key
from relayflow.store.queue import leases, pending, signals, sqlite_writes
from relayflow.store.queue.batches import (
    BatchWritten,
    RunBatch,
    announce_settled,
)
from relayflow.store.queue.drivers import bind_time, bind_uuid, read_json, read_uuid
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
    NO_CAP,
    Backlog,
    Claim,
    ClaimedExecution,
    LeaseState,
    PendingRow,
    ReapedExecution,
    pending_params,
    settled_payload,
)
from relayflow.store.queue.statements import SQLITE
from relayflow.store.queue.statements.starts import (
    PENDING_ROW,
    SQLITE_FIND_STARTER,
    SQLITE_FIND_WEBHOOK,
    SQLITE_PENDING_ROW_CLAIMED,
)

if TYPE_CHECKING:
    from relayflow.store.db import Database


class SqliteQueue:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.settled = SettledCallbacks()
        self.local_worker: LocalWorker | None = None

    async def close(self) -> None:
        """The writer thread is the database's (`Database.dispose` closes it)."""

    def _wake_workers(self) -> None:
        self._db.signals.send_committed(signals.WORK)

    async def _insert_pending(self, row: PendingRow) -> bool:
        """Write (and commit) the pending row; False if its workflow no longer exists."""
        changed = await self._db.direct_sqlite().execute(
            PENDING_ROW[SQLITE], pending_params(row, SQLITE)
        )
        return changed == 1

    # ------------------------------------------------------------ starting
    async def find_webhook(self, webhook_id: uuid.UUID, key_digest: str) -> WebhookTarget | None:
        row = await self._db.direct_sqlite().fetchone(
            SQLITE_FIND_WEBHOOK, (bind_uuid(webhook_id), key_digest)
        )
        if row is None:
            return None
        (found_id, workflow_id, owner_id, api_key, enabled, allow_query_key) = row[:6]
        require_signature, salt, rate_limit, published, schema = row[6:]
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
            # The schema only for the right key: a wrong key costs what an unknown id does.
            input_schema=schema_of(read_json(schema)),
            published_version=published,
        )

    async def find_webhook_and_start(
        self, webhook_id: uuid.UUID, key_digest: str, *, key_in_query: bool, plain: NewExecution
    ) -> FoundWebhook | None:
        # A look-up only (a local read, no network round trip to save); the intake's
        # checks then start it with `create_from_webhook`.
        target = await self.find_webhook(webhook_id, key_digest)
        return None if target is None else FoundWebhook(target, started=False)

    async def create_from_webhook(self, target: WebhookTarget, new: NewExecution) -> Created:
        row = PendingRow(
            execution_id=new.execution_id,
            workflow_id=target.workflow_id,
            user_id=target.owner_id,  # a webhook's runs belong to the workflow's owner
            input=new.input,
            trigger=dict(new.trigger),
            version=published_version(target),
        )
        if new.idempotency_key is None:
            if new.wait and await self._hand_over(row):
                return Created(new.execution_id, replayed=False)
            if not await self._insert_pending(row):
                raise webhook_vanished(target)
            self._wake_workers()
            return Created(new.execution_id, replayed=False)
        # The key and the row commit together; the key's unique constraint decides
        # between concurrent duplicates.
        try:
            async with self._db.transaction() as session:
                holder = await claim_idempotency_key(
                    session,
                    webhook_id=target.id,
                    key=new.idempotency_key,
                    execution_id=new.execution_id,
                    window_s=new.idempotency_window_s,
                )
                if holder is not None:
                    return Created(holder, replayed=True)
                if not await pending.insert_pending(session, row):
                    raise webhook_vanished(target)  # rolls back: the key is released
        except IntegrityError as exc:  # the webhook was deleted meanwhile
            raise webhook_vanished(target) from exc
        return Created(new.execution_id, replayed=False)

    async def _hand_over(self, row: PendingRow) -> bool:
        """Write the row claimed by this process's worker and hand it over, if the worker
        has a free slot and the user is under the cap; False: queue it as usual."""
        worker = self.local_worker
        if worker is None or not worker.reserve():
            return False
        claimed = None
        try:
            now = row.started_at
            found = await self._db.direct_sqlite().fetchone(
                SQLITE_PENDING_ROW_CLAIMED,
                {
                    **pending_params(row, SQLITE),
                    "owner": worker.owner,
                    "expires": bind_time(now + dt.timedelta(seconds=worker.lease_seconds)),
                    "cap": worker.user_concurrency
                    if worker.user_concurrency is not None
                    else NO_CAP,
                },
            )
            if found is not None:
                claimed = ClaimedExecution(
                    id=row.execution_id,
                    workflow_id=row.workflow_id,
                    user_id=row.user_id,
                    graph=read_json(found[0]),
                    input=row.input,
                    trigger=row.trigger,
                    decisions={},
                    lease_token=1,
                    cancel_requested=False,
                    rerun_of=None,
                    rerun_from_node=None,
                    started_at=now,
                    claimed_at=now,
                )
        finally:
            worker.hand_over(claimed)
        return claimed is not None

    async def find_starter(self, user_id: uuid.UUID, workflow_id: uuid.UUID) -> Starter | None:
        row = await self._db.direct_sqlite().fetchone(
            SQLITE_FIND_STARTER, (bind_uuid(user_id), bind_uuid(workflow_id))
        )
        if row is None:
            return None
        role, found_id, owner_id, is_public, schema, draft_version, generation = row
        if found_id is None:
            return Starter(role_of(role), None, int(generation or 0))
        target = StartTarget(
            workflow_id=read_uuid(found_id),
            owner_id=read_uuid(owner_id),
            is_public=bool(is_public),
            input_schema=schema_of(read_json(schema)),
            draft_version=draft_version,
        )
        return Starter(role_of(role), target, int(generation or 0))

    async def start(self, row: PendingRow, *, wait: bool = False) -> None:
        if wait and await self._hand_over(row):
            return
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
        if limit <= 0:
            return Claim([], more_pending=False)
        return await self._db.sqlite_writer().transaction(
            partial(
                sqlite_writes.claim,
                owner=owner,
                limit=limit,
                user_concurrency=user_concurrency,
                now=utcnow(),
                lease_seconds=lease_seconds,
            )
        )

    async def renew_leases(
        self, *, owner: str, tokens: Mapping[uuid.UUID, int], lease_seconds: float
    ) -> dict[uuid.UUID, LeaseState]:
        if not tokens:
            return {}
        async with self._db.transaction() as session:
            return await leases.renew_leases(
                session, owner=owner, tokens=tokens, lease_seconds=lease_seconds
            )

    async def write_batch(self, batch: RunBatch) -> BatchWritten:
        written, raised = await self._db.sqlite_writer().transaction(
            partial(sqlite_writes.write_batch, batch=batch)
        )
        self._db.signals.send_raised(raised)
        announce_settled(self._db, self.settled, batch, set(batch.leases) - written.lost)
        return written

    async def reap(self, *, max_lost_leases: int) -> list[ReapedExecution]:
        async with self._db.transaction() as session:
            return await leases.reap_expired_leases(session, max_lost_leases=max_lost_leases)

    # ------------------------------------------------------------ watching
    async def settled_outcomes(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        statuses = sorted(SETTLED_STATUSES)
        rows = await self._db.direct_sqlite().fetchall(
            "SELECT id, status, output, error, waiting_on FROM executions "  # noqa: S608
            f"WHERE id IN ({', '.join('?' * len(ids))}) "
            f"AND status IN ({', '.join('?' * len(statuses))})",
            (*(bind_uuid(i) for i in ids), *statuses),
        )
        return {
            read_uuid(row_id): settled_payload(status, read_json(output), error, read_json(waiting))
            for row_id, status, output, error, waiting in rows
        }

    async def backlog(self) -> Backlog:
        async with self._db.session() as session:
            count, oldest = (await session.execute(BACKLOG_QUERY)).one()
        return Backlog(int(count), oldest)
