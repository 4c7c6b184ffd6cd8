"""The reaper: returns executions whose worker stopped renewing its lease to the queue.

Every worker process runs one; on PostgreSQL only one reaps at a time (a
transaction-level advisory lock, so a reaper that dies mid-way holds nothing).
On SQLite every process is on one machine and the reaping UPDATE re-checks the
expiry, so two reapers cannot return an execution twice.
"""

from __future__ import annotations

import asyncio
import logging

from relayflow.config import Settings
from relayflow.runtime.background import BackgroundLoop
from relayflow.runtime.metrics import RuntimeMetrics
from relayflow.runtime.reconnects import ConnectionWatch
from relayflow.store.db import Database
from relayflow.store.queue.rows import ReapedExecution
from relayflow.store.queue.statements.claims import REAPER_LOCK_KEY

__all__ = ["REAPER_LOCK_KEY", "Reaper"]

log = logging.getLogger(__name__)

MAX_INTERVAL_S = 5.0


class Reaper(BackgroundLoop):
    task_name = "relayflow-reaper"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        interval_s: float | None = None,
        metrics: RuntimeMetrics | None = None,
    ):
        self.settings = settings
        self.db = db
        # Often enough that a lost execution waits at most a fraction of a lease more.
        self.interval_s = interval_s or min(MAX_INTERVAL_S, max(0.2, settings.lease_seconds / 4))
        self.reaped_total = 0
        self._watch = ConnectionWatch("reaper", metrics)

    async def reap_once(self) -> list[ReapedExecution]:
        """One pass; returns what it reaped (nothing when another reaper holds the lock)."""
        reaped = await self.db.queue.reap(max_lost_leases=self.settings.max_lost_leases)
        for item in reaped:
            log.warning(
                "execution %s lost its worker %s (%d time(s)): %s",
                item.id,
                item.previous_owner,
                item.lost_leases,
                "failed" if item.failed else "back to pending",
                extra={"execution_id": str(item.id), "worker": item.previous_owner},
            )
        self.reaped_total += len(reaped)
        return reaped

    async def _loop(self) -> None:
        while True:
            try:
                await self.reap_once()
            except Exception as exc:  # the database may be down for a while; try again
                self._watch.failed(exc)
                log.warning("reaper pass failed: %s", exc)
            else:
                self._watch.succeeded()
            await asyncio.sleep(self.interval_s)
