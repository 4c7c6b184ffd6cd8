"""The worker's write-behind journal: node runs, events and outcomes, batched.

A worker runs many executions at once; each node attempt, event and outcome is
queued here and written by one flusher, many executions per transaction, as
soon as the previous transaction has committed. Batches are written in order
and each is atomic, so a node's completed record is durable no later than the
records of the nodes that ran after it, and an outcome is durable before
`finish()` returns. A crash loses only the tail that was not yet written: those
nodes run again on resume, which is what durability promises.

When to write: an outcome (or `sync()`) at once; a finished node within
`FINISHED_LINGER_S`, so the nodes right after it and often the outcome share its
transaction; starts and events within `LINGER_S`. On PostgreSQL a batch is one
statement (`store.run_batches.write_run_batch_pg`); a short execution run alone
costs the worker its claim, that statement and the NOTIFY for its events.

Every write is fenced by the execution's lease token (`store.run_batches`).
When a flush finds a lease lost, the execution's pending writes are dropped and
`on_lease_lost` is called so the worker stops running it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from relayflow import errors
from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.ports import NodeRunRecord
from relayflow.store import executions
from relayflow.store.db import Database
from relayflow.store.executions import Outcome
from relayflow.store.node_runs import RunKey, row_values, run_key
from relayflow.store.pinned import PinnedConnection
from relayflow.store.run_batches import RunBatch, write_run_batch, write_run_batch_pg

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.05, 0.2, 0.5, 1.0, 2.0)
# Starts of attempts and events may wait this long for something that must be
# durable (usually the end of the same nodes) and share its transaction.
LINGER_S = 0.01
# A finished node waits this long for what follows it: nodes that take no time
# (input, output, transforms, offline models) finish within a millisecond or two,
# so a short execution is one transaction instead of one per node. A crash in this
# window only makes that node run again on resume, as for any write not yet made.
FINISHED_LINGER_S = 0.003


# asyncpg's own errors (the direct PostgreSQL path) that say nothing about the data:
# connection trouble, a server shutting down or out of connections, a deadlock.
_ASYNCPG_TRANSIENT = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
)


def is_transient(exc: BaseException) -> bool:
    """A database failure worth retrying as is (connection trouble, SQLite busy)."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if isinstance(exc, _ASYNCPG_TRANSIENT):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Journal:
    def __init__(
        self,
        db: Database,
        *,
        on_lease_lost: Callable[[uuid.UUID], None] | None = None,
        linger_s: float = LINGER_S,
        finished_linger_s: float = FINISHED_LINGER_S,
    ) -> None:
        self._db = db
        self._connection = PinnedConnection(db)
        self._on_lease_lost = on_lease_lost
        self._leases: dict[uuid.UUID, int] = {}
        self._lost: set[uuid.UUID] = set()
        self._open_rows: dict[RunKey, uuid.UUID] = {}
        self._batch = RunBatch()
        # Rows inserted by the pending batch, by id: a later update merges into them.
        self._pending_inserts: dict[uuid.UUID, dict[str, Any]] = {}
        self._outcome_waiters: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._sync_waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()  # something queued must be written now
        self._linger_s = linger_s
        self._finished_linger_s = finished_linger_s
        self._soon: asyncio.TimerHandle | None = None  # sets `_urgent` for a finished node
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches_written = 0

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._flush_loop(), name="relayflow-journal")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        await self.sync()
        self._stopping = True
        self._wake.set()
        self._urgent.set()
        await self._task
        self._task = None
        await self._connection.close()

    # ------------------------------------------------------------ executions
    def begin(self, execution_id: uuid.UUID, lease_token: int) -> None:
        self._leases[execution_id] = lease_token
        self._lost.discard(execution_id)

    def end(self, execution_id: uuid.UUID) -> None:
        """Forget an execution (after its outcome, or once it was handed back or lost)."""
        self._leases.pop(execution_id, None)
        self._lost.discard(execution_id)
        for key in [k for k in self._open_rows if k[0] == execution_id]:
            del self._open_rows[key]

    @property
    def backlog(self) -> int:
        """Node-run writes and events queued for the next batch (callers pace on it)."""
        runs = self._batch.node_runs
        return len(runs.inserts) + len(runs.updates) + len(self._batch.events)

    def is_lost(self, execution_id: uuid.UUID) -> bool:
        return execution_id in self._lost

    def _token(self, execution_id: uuid.UUID) -> int:
        if execution_id in self._lost or execution_id not in self._leases:
            raise errors.LeaseLost(
                f"execution {execution_id}: this worker no longer holds its lease"
            )
        return self._leases[execution_id]

    # ------------------------------------------------------------ writes
    def record(self, run: NodeRunRecord) -> None:
        """Queue one node attempt (its start, or its end)."""
        token = self._token(run.execution_id)
        self._batch.leases[run.execution_id] = token
        key = run_key(run)
        values = row_values(run)
        final = run.status is not NodeRunStatus.RUNNING
        row_id = self._open_rows.pop(key, None) if final else self._open_rows.get(key)
        if row_id is None:
            row_id = uuid.uuid4()
            row = {"id": row_id, **values}
            self._batch.node_runs.inserts.append(row)
            self._pending_inserts[row_id] = row
            if not final:
                self._open_rows[key] = row_id
        elif row_id in self._pending_inserts:  # its start is not written yet: write both as one
            self._pending_inserts[row_id].update(values)
        else:
            self._batch.node_runs.updates.append({"row_id": row_id, **values})
        self._wake.set()
        if final:
            self._flush_soon()

    def event(self, execution_id: uuid.UUID, kind: str, payload: Mapping[str, Any]) -> None:
        token = self._token(execution_id)
        self._batch.leases[execution_id] = token
        self._batch.events.append((execution_id, kind, payload))
        self._wake.set()

    async def finish(self, outcome: Outcome) -> bool:
        """Queue the outcome with its status event; True once durable, False if the lease
        was lost (nothing of this execution is written then)."""
        try:
            self._token(outcome.execution_id)
        except errors.LeaseLost:
            return False
        self._batch.leases[outcome.execution_id] = outcome.lease_token
        self._batch.outcomes.append(outcome)
        self._batch.events.append(
            (outcome.execution_id, "execution.status", executions.status_event(outcome))
        )
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._outcome_waiters[outcome.execution_id] = waiter
        self._wake.set()
        self._urgent.set()
        return await asyncio.shield(waiter)

    async def sync(self) -> None:
        """Wait until everything queued so far is written (or dropped as lost)."""
        if self._task is None or self._task.done():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sync_waiters.append(waiter)
        self._wake.set()
        self._urgent.set()
        await asyncio.shield(waiter)

    # ------------------------------------------------------------ flushing
    def _flush_soon(self) -> None:
        """Write within `finished_linger_s` (now if it is 0)."""
        if self._finished_linger_s <= 0:
            self._urgent.set()
        elif self._soon is None:
            loop = asyncio.get_running_loop()
            self._soon = loop.call_later(self._finished_linger_s, self._urgent.set)

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._urgent.is_set() and self._linger_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), timeout=self._linger_s)
            self._urgent.clear()
            self._wake.clear()  # what woke us during the linger is in this batch
            if self._soon is not None:
                self._soon.cancel()
                self._soon = None
            batch, self._batch = self._batch, RunBatch()
            self._pending_inserts = {}
            outcome_waiters, self._outcome_waiters = self._outcome_waiters, {}
            sync_waiters, self._sync_waiters = self._sync_waiters, []
            lost: set[uuid.UUID] = set()
            if batch:
                lost = await self._write(batch)
            for execution_id, waiter in outcome_waiters.items():
                if not waiter.done():
                    waiter.set_result(execution_id not in lost)
            for sync_waiter in sync_waiters:
                if not sync_waiter.done():
                    sync_waiter.set_result(None)
            if self._stopping and not self._batch:
                return

    async def _write(self, batch: RunBatch) -> set[uuid.UUID]:
        lost = await self._write_with_retries(batch)
        if lost is None:  # a write that keeps failing: isolate the execution(s) at fault
            lost = set()
            for execution_id in list(batch.leases):
                part = batch.only({execution_id})
                result = await self._write_with_retries(part)
                if result is None:
                    await self._fail_unwritable(batch, execution_id)
                    lost.add(execution_id)
                else:
                    lost |= result
        self.batches_written += 1
        for execution_id in lost:
            self._lost.add(execution_id)
            if self._on_lease_lost is not None:
                self._on_lease_lost(execution_id)
        return lost

    async def _write_with_retries(self, batch: RunBatch) -> set[uuid.UUID] | None:
        """Lost executions, or None when the batch cannot be written (bad data)."""
        attempt = 0
        while True:
            try:
                if not self._db.is_sqlite:  # one statement, its own transaction
                    return await write_run_batch_pg(self._db, batch)
                async with self._connection.transaction() as session:
                    return await write_run_batch(session, batch)
            except Exception as exc:
                if not is_transient(exc):
                    log.warning("journal write failed: %s", exc)
                    return None
                delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]
                attempt += 1
                log.warning("journal write failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)

    async def _fail_unwritable(self, batch: RunBatch, execution_id: uuid.UUID) -> None:
        """The execution's results cannot be stored (e.g. text PostgreSQL refuses): fail it."""
        token = batch.leases[execution_id]
        outcome = Outcome(
            execution_id=execution_id,
            lease_token=token,
            status=ExecutionStatus.FAILED,
            error="the execution's results could not be stored (a node produced a value "
            "the database refuses, such as text containing NUL characters)",
        )
        try:
            async with self._db.transaction() as session:
                await executions.finish_execution(session, outcome)
        except errors.LeaseLost:
            pass
        except Exception:
            log.exception("could not mark execution %s failed", execution_id)
