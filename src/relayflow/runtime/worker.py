"""The worker: claims pending executions, runs them on the engine, writes the outcome.

- Claims up to its free slots (`concurrency`) at once, oldest first, skipping users
  at their cap (`store.executions.claim`). Wakes on NOTIFY `relayflow_work`
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
- `stop()` is the graceful shutdown (SIGTERM): stop claiming, let running
  executions finish for up to `shutdown_grace_s`, then hand the rest back to the
  queue (their finished nodes are kept; another worker resumes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from relayflow import errors
from relayflow.agents.runner import ModelAgentRunner
from relayflow.config import Settings
from relayflow.domain import ExecutionStatus
from relayflow.engine.executor import (
    ApprovalDecision,
    EngineOptions,
    ExecutionOutcome,
    ExecutionRun,
    Executor,
)
from relayflow.engine.ports import AgentRunner, NodeRunRecord
from relayflow.runtime.events import EventBus
from relayflow.runtime.journal import Journal
from relayflow.runtime.limits import SharedProviderLimiter, provider_limiter
from relayflow.runtime.metrics import (
    MeteredAgents,
    MeteredLimiter,
    MeteredRunStore,
    process_metrics,
)
from relayflow.runtime.run_credentials import LIVE_SECRETS, Redactor, RunCredentials
from relayflow.store import executions, node_runs, signals
from relayflow.store.catalogs import SqlTemplateCatalog, SqlWorkflowCatalog
from relayflow.store.db import Database
from relayflow.store.execution_control import NodesWithChildren
from relayflow.store.executions import ClaimedExecution, Outcome
from relayflow.store.pinned import PinnedConnection
from relayflow.telemetry.execution import ExecutionTrace

log = logging.getLogger(__name__)

SQLITE_CANCEL_POLL_S = 0.5
CLAIM_RETRY_S = 1.0


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class _Running:
    claimed: ClaimedExecution
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    handing_back: bool = False
    lease_lost: bool = False
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


class JournalRunStore:
    """`engine.ports.RunStore` over the journal for one execution."""

    def __init__(self, journal: Journal, db: Database, *, fresh: bool) -> None:
        self._journal = journal
        self._db = db
        self._fresh = fresh  # never ran before: nothing finished to read back

    async def record(self, run: NodeRunRecord, *, fence: int | None = None) -> None:
        self._journal.record(run)

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
    ) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.concurrency = max(1, concurrency or settings.worker_concurrency)
        self.name = name or default_worker_name()
        self._given_agents = agents
        self._agents: AgentRunner | None = agents
        self._limiter: Any = None
        self._http: httpx.AsyncClient | None = None
        self._options = EngineOptions.from_settings(settings)
        self._templates = SqlTemplateCatalog(db)
        self._workflows = SqlWorkflowCatalog(db)
        self._journal = Journal(db, on_lease_lost=self._on_lease_lost)
        self._claim_connection = PinnedConnection(db)  # SQLite: claims run back to back
        self._running: dict[uuid.UUID, _Running] = {}
        self._wake = asyncio.Event()
        # Work may be waiting that no signal will announce again (the last claim left
        # some, or a signal came while every slot was busy): claim when a slot frees up.
        self._more_pending = False
        self._tasks: list[asyncio.Task[None]] = []
        self._claiming: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False
        self.claimed_total = 0

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
            self._agents = ModelAgentRunner(self.settings, limiter=MeteredLimiter(self._limiter))
        self._http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        notifications = self.bus.notifications
        notifications.add(signals.WORK, self._on_work)
        notifications.add(signals.CANCEL, self._on_cancel)
        await notifications.listen(signals.WORK)
        await notifications.listen(signals.CANCEL)
        await self._journal.start()
        self._claiming = asyncio.create_task(self._claim_loop(), name=f"{self.name}-claim")
        self._tasks = [asyncio.create_task(self._heartbeat_loop(), name=f"{self.name}-beat")]
        if self.db.is_sqlite:
            self._tasks.append(asyncio.create_task(self._cancel_poll_loop()))
        log.info("worker %s started (concurrency %d)", self.name, self.concurrency)

    async def stop(self, *, grace_s: float | None = None) -> None:
        """Graceful shutdown: stop claiming, finish or hand back what runs."""
        if not self._started:
            return
        self._stopping = True
        self._wake.set()
        if self._claiming is not None:
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
        await self._journal.sync()  # what finished before the hand-back stays finished
        if leftovers:
            await self._hand_back(leftovers)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._journal.stop()
        await self._claim_connection.close()
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
        log.info("worker %s stopped", self.name)

    @property
    def running_ids(self) -> set[uuid.UUID]:
        return set(self._running)

    # ------------------------------------------------------------ signals
    def _on_work(self, _payload: str) -> None:
        self._more_pending = True
        self._wake.set()

    def _on_cancel(self, payload: str) -> None:
        if not payload:  # the listener reconnected: re-read the flags
            self._tasks.append(asyncio.create_task(self._poll_cancel_once()))
            return
        with contextlib.suppress(ValueError):
            entry = self._running.get(uuid.UUID(payload))
            if entry is not None:
                entry.cancel.set()

    def _on_lease_lost(self, execution_id: uuid.UUID) -> None:
        entry = self._running.get(execution_id)
        if entry is not None and not entry.lease_lost:
            entry.lease_lost = True
            log.warning("worker %s lost the lease of %s; stopping it here", self.name, execution_id)
            if entry.task is not None:
                entry.task.cancel()

    # ------------------------------------------------------------ claiming
    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            free = self.concurrency - len(self._running)
            if free > 0:
                self._more_pending = False  # a signal during the claim sets it again
                try:
                    claimed = await self._claim(free)
                except Exception as exc:
                    log.warning("worker %s could not claim: %s", self.name, exc)
                    self._more_pending = True
                    await asyncio.sleep(CLAIM_RETRY_S)
                    continue
                for execution in claimed:
                    self._launch(execution)
                if claimed and len(claimed) == free:
                    continue  # the queue may hold more; claim as slots free up
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_seconds)

    async def _claim(self, limit: int) -> list[ClaimedExecution]:
        options: dict[str, Any] = {
            "owner": self.name,
            "limit": limit,
            "lease_seconds": self.settings.lease_seconds,
            "user_concurrency": self.settings.user_concurrency,
            "wait_for_disk": False,  # a claim lost with the database server is simply redone
        }
        if self.db.is_sqlite:
            async with self._claim_connection.transaction() as session:
                claim = await executions.claim(session, **options)
        else:
            # One statement without BEGIN/COMMIT, so that the claims finding nothing
            # (every worker wakes on every NOTIFY) cost one round trip each; a second,
            # locked pass only for users who could otherwise pass their cap.
            claim = await executions.claim_pg(self.db, **options)
        claimed = claim.executions
        self._more_pending = self._more_pending or claim.more_pending
        self.claimed_total += len(claimed)
        process_metrics().observe_claims(claimed)
        return claimed

    def _launch(self, claimed: ClaimedExecution) -> None:
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
            await self._journal.finish(self._outcome_row(claimed, outcome))
        except errors.LeaseLost:
            log.warning("worker %s: lease of %s lost; result discarded", self.name, claimed.id)
        except asyncio.CancelledError:
            if not (entry.handing_back or entry.lease_lost):
                raise
        except Exception as exc:  # a bug or the store failing: fail the run, keep the worker
            reason = entry.redactor.scrub(f"{type(exc).__name__}: {exc}")
            # Without the traceback once a credential was used: it could quote a secret.
            log.error(
                "execution %s crashed in worker %s: %s",
                claimed.id,
                self.name,
                reason,
                exc_info=not entry.redactor,
            )
            failed = ExecutionOutcome(
                ExecutionStatus.FAILED, error=f"internal error in worker {self.name}: {reason}"
            )
            with contextlib.suppress(Exception):
                await self._journal.finish(self._outcome_row(claimed, failed))
        finally:
            entry.redactor.release()
            self._journal.end(claimed.id)
            self._running.pop(claimed.id, None)
            if self._more_pending:  # else the queue was empty: a new execution signals
                self._wake.set()

    async def _run_engine(self, entry: _Running) -> ExecutionOutcome:
        claimed = entry.claimed
        if entry.cancel.is_set():
            return ExecutionOutcome(ExecutionStatus.CANCELLED, error="cancelled before it started")
        await self._prepare(claimed)
        self._journal.event(claimed.id, "execution.status", {"status": "processing"})
        assert self._agents is not None

        redactor = entry.redactor

        async def emit(kind: str, payload: Mapping[str, Any]) -> None:
            self._journal.event(claimed.id, kind, redactor.scrub(payload) if redactor else payload)

        store = RedactingRunStore(
            JournalRunStore(
                self._journal, self.db, fresh=not (claimed.resumed or claimed.rerun_of)
            ),
            redactor,
        )
        # Spans of the execution, its nodes and model calls when tracing is on; log ids.
        trace = ExecutionTrace.start(
            claimed.id, workflow_id=claimed.workflow_id, trigger=claimed.trigger
        )
        executor = Executor(
            store=MeteredRunStore(store, claimed.graph),  # node durations by kind and status
            agents=trace.agents(MeteredAgents(self._agents)),  # tokens by provider
            templates=self._templates.for_user(claimed.user_id),
            workflows=self._workflows,
            options=self._options,
            events=trace.events(emit),
            http_client=self._http,
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
        """Before a resumed or rerun execution runs: tidy and reuse earlier node runs."""
        if not (claimed.resumed or claimed.rerun_of):
            return
        async with self.db.transaction() as session:
            await executions.fence_one(session, claimed.id, claimed.lease_token)
            if claimed.resumed:
                await node_runs.interrupt_running(session, claimed.id)
            if claimed.rerun_of is not None and not await node_runs.has_node_runs(
                session, claimed.id
            ):
                excluded = (
                    node_runs.downstream_of(claimed.graph, claimed.rerun_from_node)
                    if claimed.rerun_from_node
                    else None
                )
                if excluded is not None:  # without a node, a rerun starts from scratch
                    await node_runs.copy_finished_runs(
                        session,
                        source_id=claimed.rerun_of,
                        target_id=claimed.id,
                        # Nested runs (`node/child`, `node[i]`) of a node that reruns rerun too.
                        exclude_nodes=NodesWithChildren(excluded),
                    )

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

    async def _hand_back(self, entries: list[_Running]) -> None:
        leases = {e.claimed.id: e.claimed.lease_token for e in entries if not e.lease_lost}
        try:
            async with self.db.transaction() as session:
                released = await executions.release_executions(
                    session,
                    leases,
                    reason=f"worker {self.name} shut down; another worker resumes it",
                )
            log.info("worker %s handed back %d execution(s)", self.name, len(released))
        except Exception:  # their leases expire and the reaper returns them
            log.exception("worker %s could not hand back its executions", self.name)

    # ------------------------------------------------------------ leases and cancels
    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self._heartbeat()
            except Exception as exc:  # the next beat tries again; the lease has slack
                log.warning("worker %s heartbeat failed: %s", self.name, exc)

    async def _heartbeat(self) -> None:
        tokens = {eid: e.claimed.lease_token for eid, e in self._running.items()}
        if not tokens:
            return
        async with self.db.transaction() as session:
            await executions.commit_without_waiting_for_disk(session)
            states = await executions.renew_leases(
                session, owner=self.name, tokens=tokens, lease_seconds=self.settings.lease_seconds
            )
        for execution_id, state in states.items():
            if not state.held:
                self._on_lease_lost(execution_id)
            elif state.cancel_requested:
                entry = self._running.get(execution_id)
                if entry is not None:
                    entry.cancel.set()

    async def _cancel_poll_loop(self) -> None:
        while True:
            await asyncio.sleep(SQLITE_CANCEL_POLL_S)
            with contextlib.suppress(Exception):
                await self._poll_cancel_once()

    async def _poll_cancel_once(self) -> None:
        ids = [eid for eid, e in self._running.items() if not e.cancel.is_set()]
        if not ids:
            return
        async with self.db.session() as session:
            wanted = await executions.cancel_requested_among(session, ids)
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
