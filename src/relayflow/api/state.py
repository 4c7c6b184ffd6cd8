"""What a running app holds: settings, the database, and background services."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from relayflow.config import Settings
from relayflow.runtime.control import ExecutionStarter
from relayflow.runtime.events import EventBus
from relayflow.runtime.metrics import RuntimeMetrics
from relayflow.runtime.service import Service
from relayflow.store.db import Database
from relayflow.store.seed import seed_system_templates
from relayflow.vault import Vault


@dataclass
class AppState:
    settings: Settings
    db: Database
    services: list[Service] = field(default_factory=list)
    # Live execution events across processes (started before, stopped after the services).
    bus: EventBus = field(init=False)
    # Queues runs started over the API (holds no resources of its own).
    starter: ExecutionStarter = field(init=False)
    # This app's figures for `GET /metrics`, fed by its embedded worker if it has one.
    metrics: RuntimeMetrics = field(default_factory=RuntimeMetrics)

    def __post_init__(self) -> None:
        self.bus = EventBus(self.db)
        self.starter = ExecutionStarter(self.db)

    @cached_property
    def vault(self) -> Vault:
        """The credentials keyring, read (or, on SQLite, made) when first needed."""
        return Vault.from_settings(self.settings)

    async def start(self) -> None:
        async with self.db.transaction() as session:
            await seed_system_templates(session)
        await self.bus.start()
        for service in self.services:
            await service.start()

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()
        await self.bus.stop()
