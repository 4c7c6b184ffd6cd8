"""What a running app holds: settings, the database, and background services."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from relayflow.config import Settings
from relayflow.runtime.control import ExecutionStarter
from relayflow.runtime.events import EventBus
from relayflow.store.db import Database
from relayflow.store.seed import seed_system_templates
from relayflow.vault import Vault


class BackgroundService(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class AppState:
    settings: Settings
    db: Database
    services: list[BackgroundService] = field(default_factory=list)
    # Live execution events across processes (started before, stopped after the services).
    bus: EventBus = field(init=False)
    # Queues runs started over the API (holds no resources of its own).
    starter: ExecutionStarter = field(init=False)

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
