"""Assembling the runtime: the embedded worker of `relayflow serve`, and `relayflow worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Protocol

from relayflow.config import Settings
from relayflow.runtime.events import EventBus
from relayflow.runtime.gc_freeze import freeze_startup_objects
from relayflow.runtime.metrics import RuntimeMetrics, serve_metrics
from relayflow.runtime.reaper import Reaper
from relayflow.runtime.upkeep import QueueUpkeep
from relayflow.runtime.worker import Worker
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade

log = logging.getLogger(__name__)


class Service(Protocol):
    """What a process starts and stops around its life: workers, the reaper, the scheduler."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def runtime_services(
    settings: Settings,
    db: Database,
    bus: EventBus,
    *,
    metrics: RuntimeMetrics,
    concurrency: int | None = None,
    name: str | None = None,
) -> list[Service]:
    """A worker (feeding `metrics`), a reaper and the queue's upkeep, to start after (and
    stop before) the bus."""
    worker = Worker(settings, db, bus, concurrency=concurrency, name=name, metrics=metrics)
    reaper = Reaper(settings, db, metrics=metrics)
    return [worker, reaper, QueueUpkeep(settings, db, metrics=metrics)]


async def run_worker_process(
    settings: Settings,
    *,
    concurrency: int | None = None,
    name: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a worker (and a reaper) until SIGTERM/SIGINT or `stop`, then shut down gracefully."""
    db = Database.from_settings(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    bus = EventBus(db)
    metrics = RuntimeMetrics()
    if settings.metrics_port:
        serve_metrics(metrics, settings.metrics_host, settings.metrics_port)
    services = runtime_services(
        settings, db, bus, metrics=metrics, concurrency=concurrency, name=name
    )
    try:
        if settings.migrate_on_start:
            await upgrade(db)
        await bus.start()
        for service in services:
            await service.start()
        freeze_startup_objects()
        await stop.wait()
        log.info("shutting down: finishing or handing back running executions")
    finally:
        for service in reversed(services):
            await service.stop()
        await bus.stop()
        await db.dispose()
