"""How many nodes one execution runs at once: its workflow's `max_parallel_nodes`,
else the server's `max_parallel_nodes`, never above `max_parallel_nodes_ceiling`.

The worker asks once per execution it starts; workflows' values are cached for a
few seconds so a burst of executions costs one read, and a change applies to
executions that start after it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from relayflow.config import Settings
from relayflow.store import workflows
from relayflow.store.db import Database

CACHE_SECONDS = 5.0
MAX_CACHED = 10_000


class ParallelNodeLimits:
    def __init__(
        self,
        db: Database,
        *,
        default: int,
        ceiling: int,
        cache_s: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.default = max(1, min(default, ceiling))
        self.ceiling = max(1, ceiling)
        self._cache_s = cache_s
        self._clock = clock
        self._cached: dict[uuid.UUID, tuple[float, int | None]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> ParallelNodeLimits:
        return cls(
            db, default=settings.max_parallel_nodes, ceiling=settings.max_parallel_nodes_ceiling
        )

    async def for_workflow(self, workflow_id: uuid.UUID | None) -> int:
        if workflow_id is None:
            return self.default
        now = self._clock()
        hit = self._cached.get(workflow_id)
        if hit is not None and now - hit[0] < self._cache_s:
            own = hit[1]
        else:
            async with self._db.session() as session:
                own = (await workflows.parallel_limits(session, [workflow_id])).get(workflow_id)
            if len(self._cached) >= MAX_CACHED:
                self._cached.clear()
            self._cached[workflow_id] = (now, own)
        return self.default if own is None else max(1, min(own, self.ceiling))
