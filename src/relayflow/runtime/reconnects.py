"""Noticing that the database came back: one watch per part of a process that talks to it.

Each part (the journal, the heartbeat, the claims, the LISTEN connection, the
reaper, the queue upkeep, the scheduler) reports its failures and successes; the first success
after a failure counts one reconnect (`relayflow_database_reconnects`) and is
logged, so that an outage shows up once per part instead of once per retry.
"""

from __future__ import annotations

import logging

from relayflow.runtime.metrics import RuntimeMetrics

log = logging.getLogger(__name__)


class ConnectionWatch:
    def __init__(self, component: str, metrics: RuntimeMetrics | None = None) -> None:
        self.component = component
        self._metrics = metrics  # None: counted here (`reconnects`), not exported
        self.down = False
        self.reconnects = 0

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            log.warning("%s: lost the database (%s)", self.component, exc)
        self.down = True

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            self.reconnects += 1
            if self._metrics is not None:
                self._metrics.reconnects.labels(self.component).inc()
            log.info("%s: the database answers again", self.component)
