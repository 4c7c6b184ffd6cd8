"""Queue upkeep: on PostgreSQL, every worker process looks soon after it starts,
then every `RELAYFLOW_QUEUE_VACUUM_INTERVAL_S`, whether the executions table needs
the VACUUM autovacuum has not made (`store.queue.upkeep`). SQLite keeps no dead
rows."""

from __future__ import annotations

import asyncio
import logging

from relayflow.config import Settings
from relayflow.runtime.background import BackgroundLoop
from relayflow.runtime.metrics import RuntimeMetrics
from relayflow.runtime.reconnects import ConnectionWatch
from relayflow.store.db import Database
from relayflow.store.queue.upkeep import vacuum_when_due

log = logging.getLogger(__name__)

# The first look: a worker started after a burst (a deploy, a restart) should not
# claim through its dead rows for a whole interval.
FIRST_LOOK_S = 5.0


class QueueUpkeep(BackgroundLoop):
    task_name = "relayflow-queue-upkeep"

    def __init__(
        self, settings: Settings, db: Database, *, metrics: RuntimeMetrics | None = None
    ) -> None:
        self.interval_s = settings.queue_vacuum_interval_s
        self.dead_rows = settings.queue_vacuum_dead_rows
        self.db = db
        self._watch = ConnectionWatch("queue upkeep", metrics)

    @property
    def enabled(self) -> bool:
        return not self.db.is_sqlite and self.interval_s > 0

    async def _loop(self) -> None:
        await asyncio.sleep(min(FIRST_LOOK_S, self.interval_s))
        while True:
            try:
                done = await vacuum_when_due(
                    self.db, dead_rows=self.dead_rows, interval_s=self.interval_s
                )
            except Exception as exc:  # the database may be down for a while; try again
                self._watch.failed(exc)
                log.warning("queue upkeep failed: %s", exc)
            else:
                self._watch.succeeded()
                if done is not None:
                    log.info(
                        "vacuumed the executions table (%d dead rows) in %.1f s",
                        done.dead_rows,
                        done.seconds,
                    )
            await asyncio.sleep(self.interval_s)
