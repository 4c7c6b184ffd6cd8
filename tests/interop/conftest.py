"""A real relayflow server on 127.0.0.1 and signed-in users for the interop tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from relayflow import security
from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.store import models
from relayflow.store.db import Database
from tests.support.live_server import serve_in_process
from tests.support.rows import echo_graph, make_user


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def server_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"scheduler_enabled": False, "poll_seconds": 0.2, "interop_wait_s": 60.0}
    )


@pytest.fixture
async def base_url(server_settings: Settings, db: Database) -> AsyncIterator[str]:
    async with serve_in_process(create_app(server_settings, db=db)) as url:
        yield url


async def new_user(db: Database, settings: Settings) -> User:
    user_id = await make_user(db)
    return User(user_id, security.issue_access_token(settings, Actor(user_id, Role.USER)).token)


async def offered_workflow(
    db: Database,
    owner: User,
    *,
    name: str = "echo",
    graph: dict[str, Any] | None = None,
    **flags: bool,
) -> models.Workflow:
    graph = graph or echo_graph()
    workflow = models.Workflow(
        id=uuid.uuid4(),
        user_id=owner.id,
        name=name,
        description=f"{name}: says back what it is given",
        nodes=graph["nodes"],
        edges=graph["edges"],
        **flags,
    )
    async with db.transaction() as session:
        session.add(workflow)
    return workflow
