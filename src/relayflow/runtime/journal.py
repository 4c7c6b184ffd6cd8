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
statement (`Database.queue.write_batch`); a short execution run alone
costs the worker its claim, that statement and the NOTIFY for its events.

Every write carries the lease token it was produced under, and is fenced by it
(`store.queue.batches`), buffered writes replayed after a database outage
included. When a flush finds a lease lost, that run's pending writes are dropped
and `on_lease_lost(execution, token)` is called so the worker stops running it.
When the same execution is claimed again (`begin` with a newer token) while an
older run of it still has writes queued, those are dropped, never merged into
the new run's. Every dropped write is counted (`relayflow_dropped_writes`).

While the database does not answer, a write is retried without end, since the
lease may still hold when it comes back; `stop(deadline_s=...)` gives up after
the deadline and drops (and logs) what is still queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from relayflow import errors
from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.ports import NodeRunRecord
from relayflow.ids import time_ordered_id
from relayflow.runtime.metrics import RuntimeMetrics
from relayflow.runtime.reconnects import ConnectionWatch
from relayflow.store.db import Database
from relayflow.store.node_runs import RunKey, row_values, run_key
from relayflow.store.queue import leases
from relayflow.store.queue.batches import BatchWritten, RunBatch
from relayflow.store.queue.rows import Outcome, status_event
from relayflow.store.transient import is_transient

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


LeaseLostCallback = Callable[[uuid.UUID, int], None]


class Journal:
    def __init__(
        self,
        db: Database,
        *,
        on_lease_lost: LeaseLostCallback | None = None,
        linger_s: float = LINGER_S,
        finished_linger_s: float = FINISHED_LINGER_S,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        self._db = db
        self._on_lease_lost = on_lease_lost
        self._metrics = metrics or RuntimeMetrics()  # a worker passes its own
        self._watch = ConnectionWatch("journal", self._metrics)
        self._leases: dict[uuid.UUID, int] = {}  # execution -> token of the run writing it
        self._lost: set[tuple[uuid.UUID, int]] = set()  # (execution, token) found lost
        self._open_rows: dict[RunKey, uuid.UUID] = {}
        self._batch = RunBatch()
        # Rows inserted by the pending batch, by id: a later update merges into them.
        self._pending_inserts: dict[uuid.UUID, dict[str, Any]] = {}
        self._outcome_waiters: dict[uuid.UUID, asyncio.Future[bool]] = {}
        self._sync_waiters: list[asyncio.Future[None]] = []
        self._in_flight: RunBatch | None = None  # the batch being written (or retried)
        self._in_flight_waiters: tuple[
            dict[uuid.UUID, asyncio.Future[bool]], list[asyncio.Future[None]]
        ] = ({}, [])
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()  # something queued must be written now
        self._linger_s = linger_s
        self._finished_linger_s = finished_linger_s
        self._soon: asyncio.TimerHandle | None = None  # sets `_urgent` for a finished node
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches_written = 0
        self.dropped: Counter[str] = Counter()  # writes dropped, by reason

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._flush_loop(), name="relayflow-journal")

    async def stop(self, *, deadline_s: float | None = None) -> None:
        """Write what is queued, then stop; after `deadline_s` (None: no limit) without
        the database answering, drop what is left (logged and counted)."""
        if self._task is None:
            return
        task = self._task
        self._stopping = True
        self._wake.set()
        self._urgent.set()
        done, _ = await asyncio.wait({task}, timeout=deadline_s)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self._abandon()
        self._task = None

    def _abandon(self) -> None:
        """Stopping without a database: drop the batch in flight and everything queued."""
        batches = [b for b in (self._in_flight, self._batch) if b]
        self._in_flight, self._batch = None, RunBatch()
        self._pending_inserts = {}
        executions_hit: set[uuid.UUID] = set()
        for batch in batches:
            self._count_dropped("shutdown", batch.size)
            executions_hit |= set(batch.leases)
        if executions_hit:
            log.warning(
                "journal stopped without the database: dropped the unwritten results of "
                "%d execution(s) (%s); their nodes run again when they resume",
                len(executions_hit),
                ", ".join(sorted(str(e) for e in executions_hit)),
            )
        in_flight_outcomes, in_flight_syncs = self._in_flight_waiters
        for waiter in (*self._outcome_waiters.values(), *in_flight_outcomes.values()):
            if not waiter.done():
                waiter.set_result(False)
        for sync_waiter in (*self._sync_waiters, *in_flight_syncs):
            if not sync_waiter.done():
                sync_waiter.set_result(None)
        self._outcome_waiters, self._sync_waiters = {}, []
        self._in_flight_waiters = ({}, [])

    # ------------------------------------------------------------ executions
    def begin(self, execution_id: uuid.UUID, lease_token: int) -> None:
        previous = self._leases.get(execution_id, self._batch.leases.get(execution_id))
        if previous is not None and previous != lease_token:
            # Claimed again while an older run of it still had writes queued: those
            # belong to a lease that is gone, and must not ride on the new token.
            self._drop_queued({execution_id}, "superseded")
            self._forget_rows(execution_id)
            self._lost = {lost for lost in self._lost if lost[0] != execution_id}
        self._leases[execution_id] = lease_token

    def end(self, execution_id: uuid.UUID, lease_token: int | None = None) -> None:
        """Forget an execution (after its outcome, or once it was handed back or lost).

        With a token, only if that run is still the one writing the execution.
        """
        if lease_token is not None and self._leases.get(execution_id) != lease_token:
            return
        token = self._leases.pop(execution_id, None)
        if token is not None:
            self._lost.discard((execution_id, token))
        self._forget_rows(execution_id)

    def _forget_rows(self, execution_id: uuid.UUID) -> None:
        for key in [k for k in self._open_rows if k[0] == execution_id]:
            del self._open_rows[key]

    @property
    def backlog(self) -> int:
        """Node-run writes and events queued for the next batch (callers pace on it)."""
        runs = self._batch.node_runs
        return len(runs.inserts) + len(runs.updates) + len(self._batch.events)

    def is_lost(self, execution_id: uuid.UUID, lease_token: int | None = None) -> bool:
        token = self._leases.get(execution_id) if lease_token is None else lease_token
        return token is None or (execution_id, token) in self._lost

    def _token(self, execution_id: uuid.UUID, lease_token: int | None = None) -> int:
        current = self._leases.get(execution_id)
        if (
            current is None
            or (lease_token is not None and lease_token != current)
            or (execution_id, current) in self._lost
        ):
            raise errors.LeaseLost(
                f"execution {execution_id}: this worker no longer holds its lease"
            )
        return current

    def _count_dropped(self, reason: str, writes: int) -> None:
        if writes:
            self.dropped[reason] += writes
            self._metrics.dropped_writes.labels(reason).inc(writes)

    def _drop_queued(self, execution_ids: set[uuid.UUID], reason: str) -> None:
        """Remove the queued (not yet in flight) writes of these executions."""
        dropped = self._batch.only(execution_ids)
        if not dropped and not (execution_ids & set(self._batch.leases)):
            return
        self._batch = self._batch.only(set(self._batch.leases) - execution_ids)
        for row in (*dropped.node_runs.inserts,):
            self._pending_inserts.pop(row["id"], None)
        self._count_dropped(reason, dropped.size)
        for execution_id in execution_ids:
            waiter = self._outcome_waiters.pop(execution_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(False)

    # ------------------------------------------------------------ writes
    def record(self, run: NodeRunRecord, *, lease_token: int | None = None) -> None:
        """Queue one node attempt (its start, or its end) of the run holding `lease_token`
        (None: whichever run holds the execution now)."""
        token = self._token(run.execution_id, lease_token)
        self._batch.leases[run.execution_id] = token
        key = run_key(run)
        values = row_values(run)
        final = run.status is not NodeRunStatus.RUNNING
        row_id = self._open_rows.pop(key, None) if final else self._open_rows.get(key)
        if row_id is None:
            row_id = time_ordered_id()
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

    def event(
        self,
        execution_id: uuid.UUID,
        kind: str,
        payload: Mapping[str, Any],
        *,
        lease_token: int | None = None,
    ) -> None:
        token = self._token(execution_id, lease_token)
        self._batch.leases[execution_id] = token
        self._batch.events.append((execution_id, kind, payload))
        self._wake.set()

    async def finish(self, outcome: Outcome) -> bool:
        """Queue the outcome with its status event; True once durable, False if the lease
        was lost (nothing of this execution is written then)."""
        try:
            self._token(outcome.execution_id, outcome.lease_token)
        except errors.LeaseLost:
            return False
        self._batch.leases[outcome.execution_id] = outcome.lease_token
        self._batch.outcomes.append(outcome)
        self._batch.events.append((outcome.execution_id, "execution.status", status_event(outcome)))
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._outcome_waiters[outcome.execution_id] = waiter
        self._wake.set()
        self._urgent.set()
        return await asyncio.shield(waiter)

    async def sync(self, *, timeout_s: float | None = None) -> bool:
        """Wait until everything queued so far is written (or dropped as lost); False if
        that took longer than `timeout_s`."""
        if self._task is None or self._task.done():
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sync_waiters.append(waiter)
        self._wake.set()
        self._urgent.set()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout=timeout_s)
        except TimeoutError:
            return False
        return True

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
                self._in_flight = batch
                self._in_flight_waiters = (outcome_waiters, sync_waiters)
                lost = await self._write(batch)
                self._in_flight, self._in_flight_waiters = None, ({}, [])
            for execution_id, waiter in outcome_waiters.items():
                if not waiter.done():
                    waiter.set_result(execution_id not in lost)
            for sync_waiter in sync_waiters:
                if not sync_waiter.done():
                    sync_waiter.set_result(None)
            if self._stopping and not self._batch:
                return

    async def _write(self, batch: RunBatch) -> set[uuid.UUID]:
        written = await self._write_with_retries(batch)
        lost: set[uuid.UUID] = set()
        repeats = 0
        if written is None:  # a write that keeps failing: isolate the execution(s) at fault
            for execution_id in list(batch.leases):
                part = batch.only({execution_id})
                result = await self._write_with_retries(part)
                if result is None:
                    await self._fail_unwritable(batch, execution_id)
                    lost.add(execution_id)
                else:
                    lost |= result.lost
                    repeats += result.repeated_completions
        else:
            lost, repeats = written.lost, written.repeated_completions
        self.batches_written += 1
        self._count_dropped("repeated_completion", repeats)
        for execution_id in lost:
            token = batch.leases[execution_id]
            self._count_dropped("lease_lost", batch.only({execution_id}).size)
            self._lost.add((execution_id, token))
            if self._leases.get(execution_id) == token:  # and what that run queued since
                self._drop_queued({execution_id}, "lease_lost")
            if self._on_lease_lost is not None:
                self._on_lease_lost(execution_id, token)
        return lost

    async def _write_with_retries(self, batch: RunBatch) -> BatchWritten | None:
        """What was written, or None when the batch cannot be written (bad data)."""
        attempt = 0
        while True:
            try:
                written = await self._db.queue.write_batch(batch)
            except Exception as exc:
                if not is_transient(exc):
                    log.warning("journal write failed: %s", exc)
                    return None
                self._watch.failed(exc)
                delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]
                attempt += 1
                log.warning("journal write failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
            else:
                self._watch.succeeded()
                return written

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
                await leases.finish_execution(session, outcome)
        except errors.LeaseLost:
            pass
        except Exception:
            log.exception("could not mark execution %s failed", execution_id)
