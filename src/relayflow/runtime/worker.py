"""The worker: claims pending executions, runs them on the engine, writes the outcome.

- Claims up to its free slots (`concurrency`) at once, oldest first, skipping users
  at their cap (`Database.queue.claim`). Wakes on NOTIFY `relayflow_work`
  (PostgreSQL) or the in-process signal (SQLite), with a slow poll
  (`settings.poll_seconds`) as the fallback. A finished execution frees a slot;
  the worker claims again then only if work may be waiting unannounced (the last
  claim left some behind, or a signal came meanwhile): a claim that finds the
  queue empty is a wasted statement.
- Holds a lease per execution and renews them all with one statement every
  `heartbeat_seconds`. A lease found lost (on renewal or on a write) stops that
  run here at once: another worker owns it now, and the lease token fences off
  anything this one would still write.
- Writes node runs, events and outcomes through the batching journal.
- Cancellation: NOTIFY `relayflow_cancel` (PostgreSQL), the in-process signal and
  a sub-second poll of `cancel_requested` (SQLite), and every heartbeat.
- Lease at risk: a run whose lease went `lease_at_risk_fraction` of the lease
  without a successful renewal (the database does not answer, or the process
  was frozen) starts no new node until a renewal succeeds; what it finished
  meanwhile waits in the journal and is written only if the lease still holds.
  A lease found lost stops the run; a run claimed again replaces (and stops) an
  older run of the same execution still in this process.
- `stop()` is the graceful shutdown (SIGTERM): stop claiming, let running
  executions finish for up to `shutdown_grace_s`, then hand the rest back to the
  queue (their finished nodes are kept; another worker resumes them). Without a
  database, writing what is queued is given up after `shutdown_write_deadline_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from relayflow import errors, netguard
from relayflow.agents.runner import ModelAgentRunner
from relayflow.config import Settings
from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.executor import (
    ApprovalDecision,
    ExecutionOutcome,
    ExecutionRun,
    Executor,
)
from relayflow.engine.ports import AgentRunner, NodeRunRecord
from relayflow.engine.validation import GraphAnalyses
from relayflow.runtime.db_share import DatabaseShare, SharedTemplateCatalog, SharedWorkflowCatalog
from relayflow.runtime.engine_options import engine_options
from relayflow.runtime.events import EventBus
from relayflow.runtime.journal import Journal
from relayflow.runtime.limits import SharedProviderLimiter, provider_limiter
from relayflow.runtime.metrics import (
    MeteredAgents,
    MeteredLimiter,
    MeteredRunStore,
    RuntimeMetrics,
)
from relayflow.runtime.parallelism import ParallelNodeLimits
from relayflow.runtime.reconnects import ConnectionWatch
from relayflow.runtime.run_credentials import LIVE_SECRETS, Redactor, RunCredentials
from relayflow.store import node_runs
from relayflow.store.catalogs import SqlTemplateCatalog, SqlWorkflowCatalog
from relayflow.store.db import Database
from relayflow.store.queue import leases, signals
from relayflow.store.queue.rows import ClaimedExecution, Outcome
from relayflow.store.transient import is_transient
from relayflow.telemetry.execution import ExecutionTrace

log = logging.getLogger(__name__)

SQLITE_CANCEL_POLL_S = 0.5
# An execution that queues writes faster than the journal stores them waits for the
# journal past this many: batches stay small and one execution cannot flood them.
JOURNAL_BACKLOG = 500
CLAIM_RETRY_S = 1.0
LEASE_GATE_POLL_S = 0.05  # how often a run held at the lease gate looks again


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class _Running:
    claimed: ClaimedExecution
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    handing_back: bool = False
    lease_lost: bool = False
    # Its outcome is queued: the outcome's own write checks the lease (fenced by the
    # token), and a renewal that finds the row already settled says nothing.
    finishing: bool = False
    renewed_at: float = field(default_factory=time.monotonic)  # last renewal that held

    @property
    def token(self) -> int:
        return self.claimed.lease_token

    # The secret values this execution's credentials handed out, kept out of every record.
    redactor: Redactor = field(default_factory=Redactor)


class RedactingRunStore:
    """A run store that never records a secret value a credential handed out."""

    def __init__(self, inner: JournalRunStore, redactor: Redactor) -> None:
        self._inner = inner
        self._redactor = redactor

    async def record(self, run: NodeRunRecord, *, fence: int | None = None) -> None:
        if self._redactor:
            scrub = self._redactor.scrub
            run = dataclasses.replace(
                run,
                input=scrub(run.input),
                output=scrub(run.output),
                error=scrub(run.error),
                tool_calls=tuple(scrub(list(run.tool_calls))),
            )
        await self._inner.record(run, fence=fence)

    async def finished(self, execution_id: uuid.UUID) -> list[NodeRunRecord]:
        return await self._inner.finished(execution_id)


class _LocalSlots:
    """The worker as the queue of its own process sees it (`Queue.local_worker`): runs
    whose requests wait for them are handed over directly when a slot is free."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self.owner = worker.name
        self.lease_seconds = worker.settings.lease_seconds
        self.user_concurrency: int | None = worker.settings.user_concurrency
        self.reserved = 0

    def reserve(self) -> bool:
        worker = self._worker
        if worker._stopping or worker.free_slots <= 0:
            return False
        self.reserved += 1
        return True

    def hand_over(self, claimed: ClaimedExecution | None) -> None:
        self.reserved -= 1
        if claimed is not None:
            self._worker._take(claimed)


class JournalRunStore:
    """`engine.ports.RunStore` over the journal for one run (one lease) of an execution.

    Every write carries the run's lease token. Before a node starts, `gate` may hold
    it (the lease is at risk) or raise `errors.LeaseLost`.
    """

    def __init__(
        self,
        journal: Journal,
        db: Database,
        *,
        fresh: bool,
        lease_token: int,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._journal = journal
        self._db = db
        self._fresh = fresh  # never ran before: nothing finished to read back
        self._token = lease_token
        self._gate = gate

    async def record(self, run: NodeRunRecord, *, fence: int | None = None) -> None:
        if run.status is NodeRunStatus.RUNNING and self._gate is not None:
            await self._gate()
        self._journal.record(run, lease_token=self._token)
        if self._journal.backlog >= JOURNAL_BACKLOG:
            await self._journal.sync()

    async def finished(self, execution_id: uuid.UUID) -> list[NodeRunRecord]:
        if self._fresh:
            return []
        async with self._db.session() as session:
            return await node_runs.finished_runs(session, execution_id)


class Worker:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: EventBus,
        *,
        concurrency: int | None = None,
        name: str | None = None,
        agents: AgentRunner | None = None,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.concurrency = max(1, concurrency or settings.worker_concurrency)
        self.name = name or default_worker_name()
        # The figures this worker feeds: the app's or its process's (its own by default).
        self.metrics = metrics or RuntimeMetrics()
        self._given_agents = agents
        self._agents: AgentRunner | None = agents
        self._limiter: Any = None
        self._http: httpx.AsyncClient | None = None
        self._options = engine_options(settings)
        self._parallelism = ParallelNodeLimits.from_settings(settings, db)
        self._templates = SqlTemplateCatalog(db)
        self._workflows = SqlWorkflowCatalog(db)
        self._db_share = DatabaseShare(settings.worker_db_reads)
        self._analyses = GraphAnalyses()  # the graphs this worker runs, analysed once each
        self._journal = Journal(db, on_lease_lost=self._on_lease_lost, metrics=self.metrics)
        self._running: dict[uuid.UUID, _Running] = {}
        self._wake = asyncio.Event()
        # Work may be waiting that no signal will announce again (the last claim left
        # some, or a signal came while every slot was busy): claim when a slot frees up.
        self._more_pending = False
        self._tasks: list[asyncio.Task[None]] = []
        self._claiming: asyncio.Task[None] | None = None
        self._local = _LocalSlots(self)
        self._started = False
        self._stopping = False
        self.claimed_total = 0
        self._heartbeat_watch = ConnectionWatch("heartbeat", self.metrics)
        self._claim_watch = ConnectionWatch("claims", self.metrics)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        LIVE_SECRETS.install()  # log lines never carry a running execution's secrets
        if self._started:
            return
        self._started = True
        self._stopping = False
        if self._agents is None:
            self._limiter = provider_limiter(
                self.settings, self.db, self.bus.notifications, owner=self.name
            )
            # Metered: every model request and its failure are counted per provider.
            self._agents = ModelAgentRunner(
                self.settings, limiter=MeteredLimiter(self._limiter, self.metrics)
            )
        self._http = netguard.outbound_client(follow_redirects=False)
        notifications = self.bus.notifications
        notifications.add(signals.WORK, self._on_work)
        notifications.add(signals.CANCEL, self._on_cancel)
        await notifications.listen(signals.WORK)
        await notifications.listen(signals.CANCEL)
        await self._journal.start()
        self._claiming = asyncio.create_task(self._claim_loop(), name=f"{self.name}-claim")
        if self.db.queue.local_worker is None:
            self.db.queue.local_worker = self._local
        self._tasks = [asyncio.create_task(self._heartbeat_loop(), name=f"{self.name}-beat")]
        if self.db.is_sqlite:
            self._tasks.append(asyncio.create_task(self._cancel_poll_loop()))
        at_risk_s = self.settings.lease_seconds * self.settings.lease_at_risk_fraction
        if self.settings.heartbeat_seconds >= at_risk_s:
            log.warning(
                "worker %s: RELAYFLOW_HEARTBEAT_SECONDS (%.1f) should be well below "
                "RELAYFLOW_LEASE_SECONDS x RELAYFLOW_LEASE_AT_RISK_FRACTION (%.1f): runs pause "
                "before each node until the next renewal",
                self.name,
                self.settings.heartbeat_seconds,
                at_risk_s,
            )
        log.info(
            "worker %s started (concurrency %d)", self.name, self.concurrency, extra=self._fields()
        )

    async def stop(self, *, grace_s: float | None = None) -> None:
        """Graceful shutdown: stop claiming, finish or hand back what runs."""
        if not self._started:
            return
        self._stopping = True
        if self.db.queue.local_worker is self._local:
            self.db.queue.local_worker = None
        self._wake.set()
        if self._claiming is not None:  # a claim waiting on a database that does not answer
            done, _ = await asyncio.wait(
                {self._claiming}, timeout=self.settings.shutdown_write_deadline_s
            )
            if not done:
                self._claiming.cancel()  # what it may have claimed returns when leases expire
            await asyncio.gather(self._claiming, return_exceptions=True)
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        running = [r.task for r in self._running.values() if r.task is not None]
        if running and grace > 0:
            await asyncio.wait(running, timeout=grace)
        leftovers = list(self._running.values())
        for entry in leftovers:
            entry.handing_back = True
            if entry.task is not None:
                entry.task.cancel()
        await asyncio.gather(
            *(e.task for e in leftovers if e.task is not None), return_exceptions=True
        )
        # Writing needs the database: without it, give up at the deadline (logged).
        deadline = time.monotonic() + self.settings.shutdown_write_deadline_s

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        # What finished before the hand-back stays finished.
        if not await self._journal.sync(timeout_s=left()):
            log.warning(
                "worker %s: the database did not answer within %.1fs "
                "(RELAYFLOW_SHUTDOWN_WRITE_DEADLINE_S); stopping without writing what is left",
                self.name,
                self.settings.shutdown_write_deadline_s,
            )
        if leftovers:
            await self._hand_back(leftovers, timeout_s=left())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._journal.stop(deadline_s=left())
        notifications = self.bus.notifications
        notifications.remove(signals.WORK, self._on_work)
        notifications.remove(signals.CANCEL, self._on_cancel)
        if isinstance(self._limiter, SharedProviderLimiter):
            self._limiter.close()
        if self._given_agents is None and isinstance(self._agents, ModelAgentRunner):
            await self._agents.aclose()
            self._agents = None
        if self._http is not None:
            await self._http.aclose()
        self._started = False
        log.info("worker %s stopped", self.name, extra=self._fields())

    @property
    def running_ids(self) -> set[uuid.UUID]:
        return set(self._running)

    @property
    def free_slots(self) -> int:
        return self.concurrency - len(self._running) - self._local.reserved

    def _fields(self, execution_id: uuid.UUID | None = None) -> dict[str, str]:
        """The structured fields of a log line: this worker, and the execution if any."""
        fields = {"worker": self.name}
        if execution_id is not None:
            fields["execution_id"] = str(execution_id)
        return fields

    # ------------------------------------------------------------ signals
    def _on_work(self, _payload: str) -> None:
        self._more_pending = True
        self._wake.set()

    def _on_cancel(self, payload: str) -> None:
        if not payload:  # the listener reconnected: re-read the flags
            self._tasks.append(asyncio.create_task(self._poll_cancel_once()))
            return
        try:
            execution_id = uuid.UUID(payload)
        except ValueError:
            log.warning(
                "worker %s ignored a cancel signal that names no execution: %r",
                self.name,
                payload[:100],
                extra=self._fields(),
            )
            return
        entry = self._running.get(execution_id)
        if entry is not None:
            entry.cancel.set()

    def _on_lease_lost(self, execution_id: uuid.UUID, lease_token: int) -> None:
        entry = self._running.get(execution_id)
        if entry is not None and entry.token == lease_token:
            self._stop_run(entry, "lost the lease of")

    def _stop_run(self, entry: _Running, why: str) -> None:
        if entry.lease_lost:
            return
        entry.lease_lost = True
        log.warning(
            "worker %s %s %s (lease %d); stopping that run here",
            self.name,
            why,
            entry.claimed.id,
            entry.token,
            extra=self._fields(entry.claimed.id),
        )
        if entry.task is not None:
            entry.task.cancel()

    # ------------------------------------------------------------ claiming
    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self.free_slots
            if free > 0:
                self._more_pending = False  # a signal during the claim sets it again
                try:
                    claimed = await self._claim(free)
                except Exception as exc:
                    log.warning(
                        "worker %s could not claim: %s", self.name, exc, extra=self._fields()
                    )
                    self._claim_watch.failed(exc)
                    self._more_pending = True
                    await asyncio.sleep(CLAIM_RETRY_S)
                    continue
                self._claim_watch.succeeded()
                for execution in claimed:
                    self._launch(execution)
                if claimed and len(claimed) == free:
                    continue  # the queue may hold more; claim as slots free up
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_seconds)

    async def _claim(self, limit: int) -> list[ClaimedExecution]:
        claim = await self.db.queue.claim(
            owner=self.name,
            limit=limit,
            lease_seconds=self.settings.lease_seconds,
            user_concurrency=self.settings.user_concurrency,
            wait_for_disk=False,  # a claim lost with the database server is simply redone
        )
        claimed = claim.executions
        self._more_pending = self._more_pending or claim.more_pending
        self.claimed_total += len(claimed)
        self.metrics.observe_claims(claimed)
        return claimed

    def _take(self, claimed: ClaimedExecution) -> None:
        """A run handed over by the queue of this process, already claimed for this worker."""
        self.claimed_total += 1
        self.metrics.observe_claims([claimed])
        self._launch(claimed)

    def _launch(self, claimed: ClaimedExecution) -> None:
        older = self._running.get(claimed.id)
        if older is not None:  # claimed again (its lease expired meanwhile): that run is over
            self._stop_run(older, "claimed again")
        entry = _Running(claimed)
        self._running[claimed.id] = entry
        self._journal.begin(claimed.id, claimed.lease_token)
        if claimed.cancel_requested:
            entry.cancel.set()
        entry.task = asyncio.create_task(self._execute(entry), name=f"execution-{claimed.id}")

    # ------------------------------------------------------------ one execution
    async def _execute(self, entry: _Running) -> None:
        claimed = entry.claimed
        try:
            outcome = await self._run_engine(entry)
            entry.finishing = True
            await self._journal.finish(self._outcome_row(claimed, outcome))
        except errors.LeaseLost:
            log.warning(
                "worker %s: lease of %s lost; result discarded",
                self.name,
                claimed.id,
                extra=self._fields(claimed.id),
            )
        except asyncio.CancelledError:
            if not (entry.handing_back or entry.lease_lost):
                raise
        except Exception as exc:
            if is_transient(exc):  # the database is away: let go; the lease expires
                log.warning(
                    "worker %s: execution %s stopped here, the database failed (%s); "
                    "it resumes once its lease expires",
                    self.name,
                    claimed.id,
                    exc,
                )
            else:
                await self._fail(entry, exc)
        finally:
            entry.redactor.release()
            self._journal.end(claimed.id, claimed.lease_token)
            if self._running.get(claimed.id) is entry:
                self._running.pop(claimed.id, None)
            if self._more_pending:  # else the queue was empty: a new execution signals
                self._wake.set()

    async def _fail(self, entry: _Running, exc: Exception) -> None:
        """A bug or the store refusing: fail the run, keep the worker."""
        claimed = entry.claimed
        reason = entry.redactor.scrub(f"{type(exc).__name__}: {exc}")
        # Without the traceback once a credential was used: it could quote a secret.
        log.error(
            "execution %s crashed in worker %s: %s",
            claimed.id,
            self.name,
            reason,
            exc_info=exc if not entry.redactor else None,
            extra=self._fields(claimed.id),
        )
        failed = ExecutionOutcome(
            ExecutionStatus.FAILED, error=f"internal error in worker {self.name}: {reason}"
        )
        try:
            entry.finishing = True
            await self._journal.finish(self._outcome_row(claimed, failed))
        except Exception as write_error:  # its lease expires and the reaper settles it
            log.warning(
                "worker %s could not record execution %s as failed: %s",
                self.name,
                claimed.id,
                write_error,
                extra=self._fields(claimed.id),
            )

    async def _run_engine(self, entry: _Running) -> ExecutionOutcome:
        claimed = entry.claimed
        if entry.cancel.is_set():
            return ExecutionOutcome(ExecutionStatus.CANCELLED, error="cancelled before it started")
        await self._prepare(claimed)
        parallel = await self._parallelism.for_workflow(claimed.workflow_id)
        token = claimed.lease_token
        self._journal.event(
            claimed.id, "execution.status", {"status": "processing"}, lease_token=token
        )
        assert self._agents is not None

        redactor = entry.redactor

        async def emit(kind: str, payload: Mapping[str, Any]) -> None:
            scrubbed = redactor.scrub(payload) if redactor else payload
            self._journal.event(claimed.id, kind, scrubbed, lease_token=token)
            if self._journal.backlog >= JOURNAL_BACKLOG:
                await self._journal.sync()

        async def gate() -> None:
            await self._until_lease_safe(entry)

        store = RedactingRunStore(
            JournalRunStore(
                self._journal,
                self.db,
                fresh=not (claimed.resumed or claimed.rerun_of),
                lease_token=token,
                gate=gate,
            ),
            redactor,
        )
        # Spans of the execution, its nodes and model calls when tracing is on; log ids.
        reads = self._db_share.for_execution()
        trace = ExecutionTrace.start(
            claimed.id, workflow_id=claimed.workflow_id, trigger=claimed.trigger
        )
        executor = Executor(
            store=MeteredRunStore(store, claimed.graph, self.metrics),  # node durations
            agents=trace.agents(MeteredAgents(self._agents, self.metrics)),  # tokens by provider
            # Look-ups within the worker's share of the pool (`runtime.db_share`).
            templates=SharedTemplateCatalog(self._templates.for_user(claimed.user_id), reads),
            workflows=SharedWorkflowCatalog(self._workflows, reads),
            options=replace(self._options, max_parallel_nodes=parallel),
            events=trace.events(emit),
            http_client=self._http,
            analyses=self._analyses,
            credentials=RunCredentials(self.db, self.settings, claimed.user_id, redactor),
        )
        async with trace.running():
            outcome = await executor.run(
                ExecutionRun(
                    execution_id=claimed.id,
                    graph=claimed.graph,
                    input=claimed.input,
                    user_id=claimed.user_id,
                    fence=claimed.lease_token,
                    decisions=_decisions(claimed.decisions),
                    cancel=entry.cancel,
                    trigger=claimed.trigger,
                )
            )
            if redactor:
                outcome.output = redactor.scrub(outcome.output)
                outcome.error = redactor.scrub(outcome.error)
            trace.finished(outcome)
        return outcome

    async def _prepare(self, claimed: ClaimedExecution) -> None:
        """Before a resumed execution runs: mark the runs its last worker left running as
        interrupted. (A rerun's reused results were copied when it was created.)"""
        if not claimed.resumed:
            return
        async with self.db.transaction() as session:
            await leases.fence_one(session, claimed.id, claimed.lease_token)
            await node_runs.interrupt_running(session, claimed.id)

    @staticmethod
    def _outcome_row(claimed: ClaimedExecution, outcome: ExecutionOutcome) -> Outcome:
        return Outcome(
            execution_id=claimed.id,
            lease_token=claimed.lease_token,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            input_tokens=outcome.usage.input_tokens,
            output_tokens=outcome.usage.output_tokens,
            cost_usd=outcome.cost_usd,
            waiting_on=list(outcome.waiting_on),
        )

    async def _hand_back(self, entries: list[_Running], *, timeout_s: float | None = None) -> None:
        held = {e.claimed.id: e.claimed.lease_token for e in entries if not e.lease_lost}
        if not held:
            return

        async def release() -> set[uuid.UUID]:
            async with self.db.transaction() as session:
                return await leases.release_executions(
                    session,
                    held,
                    reason=f"worker {self.name} shut down; another worker resumes it",
                )

        try:
            released = await asyncio.wait_for(release(), timeout=timeout_s)
            log.info("worker %s handed back %d execution(s)", self.name, len(released))
        except Exception as exc:  # their leases expire and the reaper returns them
            log.warning(
                "worker %s could not hand back %d execution(s) (%s); they resume once "
                "their leases expire: %s",
                self.name,
                len(held),
                type(exc).__name__,
                ", ".join(sorted(str(e) for e in held)),
            )

    # ------------------------------------------------------------ the lease gate
    def _lease_at_risk(self, entry: _Running) -> bool:
        unrenewed = time.monotonic() - entry.renewed_at
        return unrenewed > self.settings.lease_seconds * self.settings.lease_at_risk_fraction

    async def _until_lease_safe(self, entry: _Running) -> None:
        """Hold a node about to start while the run's lease is at risk: resume once a
        renewal holds; raise `errors.LeaseLost` once it is known lost."""
        if not self._lease_at_risk(entry):
            return
        log.warning(
            "worker %s: the lease of %s was not renewed for %.1fs; starting no node until it is",
            self.name,
            entry.claimed.id,
            time.monotonic() - entry.renewed_at,
        )
        while self._lease_at_risk(entry):
            if entry.lease_lost or self._journal.is_lost(entry.claimed.id, entry.token):
                raise errors.LeaseLost(
                    f"execution {entry.claimed.id}: this worker no longer holds its lease"
                )
            await asyncio.sleep(LEASE_GATE_POLL_S)

    # ------------------------------------------------------------ leases and cancels
    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self._heartbeat()
            except Exception as exc:  # the next beat tries again; the lease has slack
                self._heartbeat_watch.failed(exc)
                log.warning(
                    "worker %s heartbeat failed for %s: %s",
                    self.name,
                    ", ".join(str(i) for i in self._running) or "no execution",
                    exc,
                    extra={**self._fields(), "execution_ids": [str(i) for i in self._running]},
                )
            else:
                self._heartbeat_watch.succeeded()

    async def _heartbeat(self) -> None:
        entries = dict(self._running)
        tokens = {eid: e.token for eid, e in entries.items()}
        if not tokens:
            return
        began = time.monotonic()
        states = await self.db.queue.renew_leases(
            owner=self.name, tokens=tokens, lease_seconds=self.settings.lease_seconds
        )
        for execution_id, state in states.items():
            entry = entries[execution_id]
            if not state.held:
                # A run whose outcome committed during the renewal reads as not held.
                if not entry.finishing:
                    self._on_lease_lost(execution_id, entry.token)
                continue
            entry.renewed_at = max(entry.renewed_at, began)
            if state.cancel_requested:
                entry.cancel.set()

    async def _cancel_poll_loop(self) -> None:
        while True:
            await asyncio.sleep(SQLITE_CANCEL_POLL_S)
            await self._poll_cancel_once()

    async def _poll_cancel_once(self) -> None:
        """Read the cancel flags of the running executions; a failure is logged and the
        next poll (or heartbeat) reads them again."""
        ids = [eid for eid, e in self._running.items() if not e.cancel.is_set()]
        if not ids:
            return
        try:
            async with self.db.session() as session:
                wanted = await leases.cancel_requested_among(session, ids)
        except Exception as exc:
            log.warning(
                "worker %s could not read the cancel requests of %s: %s",
                self.name,
                ", ".join(str(i) for i in ids),
                exc,
                extra={**self._fields(), "execution_ids": [str(i) for i in ids]},
            )
            return
        for execution_id in wanted:
            entry = self._running.get(execution_id)
            if entry is not None:
                entry.cancel.set()


def _decisions(raw: Mapping[str, Any]) -> dict[str, ApprovalDecision]:
    decisions = {}
    for node_id, value in raw.items():
        if isinstance(value, Mapping):
            decisions[node_id] = ApprovalDecision(
                approved=bool(value.get("approved")),
                comment=value.get("comment"),
                decided_by=value.get("decided_by"),
            )
    return decisions
