"""What a running app holds: settings, the database, and background services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from relayflow.config import Settings
from relayflow.store.db import Database


class BackgroundService(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class AppState:
    settings: Settings
    db: Database
    services: list[BackgroundService] = field(default_factory=list)

    async def start(self) -> None:
        for service in self.services:
            await service.start()

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()
