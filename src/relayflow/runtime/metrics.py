"""Prometheus metrics: one `RuntimeMetrics` per app or worker process, served at `GET /metrics`.

Two kinds of figures:
- installation-wide gauges read from the database at scrape time (executions by
  status, queue depth), identical whichever process is scraped, and at most
  `metrics_refresh_s` old (one reading serves the scrapes in between);
- this process's counters and histograms, fed by the worker running in it
  (claim latency, node durations, provider requests and errors, tokens).
  Prometheus sums them over the processes it scrapes.

Whoever assembles a process makes the one `RuntimeMetrics` and passes it on: the
app keeps it in its state and hands it to its embedded worker; `relayflow
worker` makes its own. Nothing is shared through module state.

The worker feeds them through thin wrappers around what it already uses: its
run store (node durations), its provider limiter (each model request holds one
slot, so the limiter sees every request and its failure) and its agent runner
(token usage).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from relayflow.agents.limits import ProviderLimiter
from relayflow.domain import NodeRunStatus, utcnow
from relayflow.engine.ports import AgentRequest, AgentResult, AgentRunner, NodeRunRecord, RunStore
from relayflow.store.db import Database
from relayflow.store.execution_queries import count_by_status
from relayflow.store.queue.rows import ClaimedExecution

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
NODE_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
NESTED_KIND = "nested"  # a node inside a sub-workflow or map item: its kind is not at hand


class RuntimeMetrics:
    def __init__(self) -> None:
        # Kept apart so that a worker's own endpoint never exports stale database gauges.
        self.database_registry = CollectorRegistry()
        self._database_read_at: float | None = None  # time.monotonic() of the last reading
        self._database_reading: asyncio.Task[None] | None = None
        self.registry = CollectorRegistry()
        r = self.registry
        self.executions = Gauge(
            "relayflow_executions",
            "Executions by status, read from the database at scrape time.",
            ["status"],
            registry=self.database_registry,
        )
        self.queue_depth = Gauge(
            "relayflow_queue_depth",
            "Pending executions waiting for a worker, read from the database at scrape time.",
            registry=self.database_registry,
        )
        self.oldest_pending_age = Gauge(
            "relayflow_oldest_pending_age_seconds",
            "How long the oldest pending execution has waited for a worker (0 with none), "
            "read from the database at scrape time.",
            registry=self.database_registry,
        )
        self.claim_latency = Histogram(
            "relayflow_claim_latency_seconds",
            "Time from an execution's creation to its first claim by a worker.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.node_duration = Histogram(
            "relayflow_node_duration_seconds",
            "Duration of node attempts run by this process, by node kind and final status.",
            ["kind", "status"],
            buckets=NODE_BUCKETS,
            registry=r,
        )
        self.provider_requests = Counter(
            "relayflow_provider_requests",
            "Model requests sent to each provider by this process.",
            ["provider"],
            registry=r,
        )
        self.provider_errors = Counter(
            "relayflow_provider_errors",
            "Model requests to each provider that failed (errors, 429s, timeouts).",
            ["provider"],
            registry=r,
        )
        self.dropped_writes = Counter(
            "relayflow_dropped_writes",
            "Journal writes (node runs, events, outcomes) this process dropped instead of "
            "writing, by reason: lease_lost (the lease was gone when written), superseded "
            "(buffered by an older run of an execution claimed again), repeated_completion "
            "(the node's completion was already recorded), shutdown (the database did not "
            "answer before the stop deadline).",
            ["reason"],
            registry=r,
        )
        self.reconnects = Counter(
            "relayflow_database_reconnects",
            "Times a part of this process got the database back after losing it, by part "
            "(journal, heartbeat, claims, listener, reaper, scheduler).",
            ["component"],
            registry=r,
        )
        self.tokens = Counter(
            "relayflow_tokens",
            "Tokens used by agents run in this process, by provider and direction.",
            ["provider", "direction"],
            registry=r,
        )

    # ------------------------------------------------------------ scraping
    async def refresh_from_database(self, db: Database, *, max_age_s: float) -> None:
        """Read the database gauges again unless the last reading began less than
        `max_age_s` ago. Counting executions by status reads the whole history, so
        however many scrapes arrive (`GET /metrics` is open by default), the database
        counts at most once per `max_age_s`: scrapes during a reading wait for it."""
        read_at = self._database_read_at
        if read_at is not None and time.monotonic() - read_at < max_age_s:
            return
        if self._database_reading is None:
            reading = asyncio.create_task(self._read_database(db))
            reading.add_done_callback(self._database_read)
            self._database_reading = reading
        # Shielded: a scraper that hangs up does not cancel the others' reading.
        await asyncio.shield(self._database_reading)

    def _database_read(self, reading: asyncio.Task[None]) -> None:
        self._database_reading = None
        if not reading.cancelled():
            reading.exception()  # retrieved here too: every waiter may have gone

    async def _read_database(self, db: Database) -> None:
        began = time.monotonic()
        async with db.session() as session:
            counts = await count_by_status(session)
        backlog = await db.queue.backlog()
        for status, count in counts.items():
            self.executions.labels(status=status).set(count)
        self.queue_depth.set(backlog.pending)
        oldest = backlog.oldest_started_at
        self.oldest_pending_age.set(
            max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
        )
        self._database_read_at = began

    def render(self) -> bytes:
        """The database gauges and this process's figures, in the text format."""
        return generate_latest(self.database_registry) + generate_latest(self.registry)

    # ------------------------------------------------------------ observations
    def observe_claims(self, claimed: Iterable[ClaimedExecution]) -> None:
        """Queue latency of executions claimed for the first time (not resumed ones)."""
        for execution in claimed:
            if execution.resumed or execution.started_at is None:
                continue
            waited = (execution.claimed_at - execution.started_at).total_seconds()
            self.claim_latency.observe(max(0.0, waited))

    def observe_node_run(self, record: NodeRunRecord, kind: str) -> None:
        if record.status is NodeRunStatus.RUNNING:
            return
        if record.started_at is None or record.finished_at is None:
            return
        self.node_duration.labels(kind=kind, status=record.status.value).observe(
            max(0.0, record.finished_at - record.started_at)
        )

    def observe_agent_result(self, result: AgentResult) -> None:
        provider = provider_of(result.model)
        if result.usage.input_tokens:
            self.tokens.labels(provider, "input").inc(result.usage.input_tokens)
        if result.usage.output_tokens:
            self.tokens.labels(provider, "output").inc(result.usage.output_tokens)


def provider_of(model: str) -> str:
    """`openai` of `openai:gpt-4o`; models are `provider:model` strings."""
    provider, _, name = model.partition(":")
    return provider.lower() if name else "unknown"


def serve_metrics(metrics: RuntimeMetrics, host: str, port: int) -> None:
    """Serve a worker's own figures over HTTP from a background thread (`relayflow worker`,
    which has no API). The database gauges are left to the API's `GET /metrics`."""
    start_http_server(port, addr=host, registry=metrics.registry)


# ----------------------------------------------------------------- wrappers
class MeteredLimiter:
    """A ProviderLimiter that counts each request it admits, and the ones that fail."""

    def __init__(self, inner: ProviderLimiter, metrics: RuntimeMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        name = provider.lower()
        async with self._inner.slot(provider):
            self._metrics.provider_requests.labels(name).inc()
            try:
                yield
            except Exception:
                self._metrics.provider_errors.labels(name).inc()
                raise


class MeteredAgents:
    """An AgentRunner that counts the tokens of each answer by provider."""

    def __init__(self, inner: AgentRunner, metrics: RuntimeMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def run(self, request: AgentRequest) -> AgentResult:
        result = await self._inner.run(request)
        self._metrics.observe_agent_result(result)
        return result


def node_kinds(graph: Mapping[str, Any]) -> dict[str, str]:
    nodes = graph.get("nodes", []) if isinstance(graph, Mapping) else []
    return {
        str(n["id"]): str(n.get("type") or "unknown")
        for n in nodes
        if isinstance(n, Mapping) and "id" in n
    }


class MeteredRunStore:
    """A RunStore that times every finished node attempt by kind and status."""

    def __init__(self, inner: RunStore, graph: Mapping[str, Any], metrics: RuntimeMetrics) -> None:
        self._inner = inner
        self._kinds = node_kinds(graph)
        self._metrics = metrics

    async def record(self, run: NodeRunRecord, *, fence: int | None = None) -> None:
        await self._inner.record(run, fence=fence)
        self._metrics.observe_node_run(run, self._kinds.get(run.node_id, NESTED_KIND))

    async def finished(self, execution_id: uuid.UUID) -> list[NodeRunRecord]:
        return await self._inner.finished(execution_id)
