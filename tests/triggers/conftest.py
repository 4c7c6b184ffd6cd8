"""Webhooks and schedules over a fresh database: owners, workflows, webhooks with keys."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from relayflow import security
from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.store import models, webhooks
from relayflow.store.db import Database
from tests.support.rows import chain_graph, make_user


@dataclass(frozen=True)
class Owner:
    id: uuid.UUID
    role: Role
    headers: dict[str, str]  # bearer token for the REST API

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.id, role=self.role)


@dataclass(frozen=True)
class Hook:
    id: uuid.UUID
    key: str
    workflow_id: uuid.UUID
    owner: Owner

    @property
    def url(self) -> str:
        return f"/hooks/{self.id}"


MakeOwner = Callable[..., Awaitable[Owner]]
MakeHook = Callable[..., Awaitable[Hook]]


def transform_graph(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """input -> output(input): the execution's output is its input."""
    return chain_graph(
        ("input", {"schema": schema} if schema else {}),
        ("output", {"value": "{{ input }}"}),
    )


@pytest.fixture
def make_owner(db: Database, settings: Settings) -> MakeOwner:
    async def make(role: Role = Role.USER) -> Owner:
        user_id = await make_user(db, role=role.value)
        token = security.issue_access_token(settings, Actor(user_id, role)).token
        return Owner(user_id, role, {"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
async def owner(make_owner: MakeOwner) -> Owner:
    return await make_owner()


@pytest.fixture
def make_hook(db: Database, owner: Owner) -> MakeHook:
    """A workflow of `owner` (input -> output) with one webhook; settings go on the row."""

    async def make(
        *,
        schema: dict[str, Any] | None = None,
        graph: dict[str, Any] | None = None,
        public: bool = False,
        **webhook_settings: Any,
    ) -> Hook:
        graph = graph or transform_graph(schema)
        async with db.transaction() as session:
            workflow = models.Workflow(
                user_id=owner.id,
                name="triggered",
                nodes=graph["nodes"],
                edges=graph["edges"],
                is_public=public,
            )
            session.add(workflow)
            await session.flush()
            issued = await webhooks.create_webhook(session, owner.actor, workflow.id)
            for name, value in webhook_settings.items():
                setattr(issued.webhook, name, value)
            return Hook(issued.webhook.id, issued.api_key, workflow.id, owner)

    return make


@pytest.fixture
async def hook(make_hook: MakeHook) -> Hook:
    return await make_hook()


async def executions_of(db: Database, workflow_id: uuid.UUID) -> list[models.Execution]:
    async with db.session() as session:
        rows = await session.scalars(
            select(models.Execution)
            .where(models.Execution.workflow_id == workflow_id)
            .order_by(models.Execution.started_at)
        )
        return list(rows)


async def count_executions(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(models.Execution)) or 0)
