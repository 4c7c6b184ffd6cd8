"""The worker's share of the database pool for what executions read while they run.

Executions look up workflows (sub-workflows, maps over a workflow) and agent
templates as they go. Left alone, an execution fanning out into thousands of child
runs asked for one connection per look-up, all at once, and emptied the pool that
the API shares with the embedded worker: other users' requests waited for the pool's
timeout and failed. So:

- an execution reads one thing at a time, and each workflow or template once: its
  child runs share what the first read (within one execution, a sub-workflow is
  also the same graph throughout);
- all executions of a worker together hold at most `worker_db_reads` connections
  for these reads (`RELAYFLOW_WORKER_DB_READS`); the rest of the pool is the API's.

The journal writes node runs on one connection of its own (`runtime.journal`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from relayflow.engine.ports import AgentProfile, TemplateCatalog, WorkflowCatalog


class DatabaseShare:
    """The worker's connections for execution look-ups."""

    def __init__(self, connections: int) -> None:
        self._connections = asyncio.Semaphore(max(1, connections))

    def for_execution(self) -> ExecutionReads:
        return ExecutionReads(self._connections)


class ExecutionReads:
    """One execution's look-ups: one at a time, within the worker's share."""

    def __init__(self, connections: asyncio.Semaphore) -> None:
        self._connections = connections
        self._one_at_a_time = asyncio.Lock()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._one_at_a_time, self._connections:
            yield


class SharedWorkflowCatalog:
    """`engine.ports.WorkflowCatalog` for one execution: each workflow read once."""

    def __init__(self, catalog: WorkflowCatalog, reads: ExecutionReads) -> None:
        self._catalog = catalog
        self._reads = reads
        self._graphs: dict[tuple[str, uuid.UUID | None], Mapping[str, Any] | None] = {}

    async def get_graph(
        self, workflow_id: str, *, user_id: uuid.UUID | None
    ) -> Mapping[str, Any] | None:
        key = (workflow_id, user_id)
        if key not in self._graphs:
            async with self._reads.slot():
                if key not in self._graphs:  # not read by another child run meanwhile
                    self._graphs[key] = await self._catalog.get_graph(workflow_id, user_id=user_id)
        return self._graphs[key]


class SharedTemplateCatalog:
    """`engine.ports.TemplateCatalog` for one execution: each template read once."""

    def __init__(self, catalog: TemplateCatalog, reads: ExecutionReads) -> None:
        self._catalog = catalog
        self._reads = reads
        self._profiles: dict[str, AgentProfile | None] = {}

    async def get_profile(self, template_id: str) -> AgentProfile | None:
        if template_id not in self._profiles:
            async with self._reads.slot():
                if template_id not in self._profiles:
                    self._profiles[template_id] = await self._catalog.get_profile(template_id)
        return self._profiles[template_id]
