"""Signed-in users for API tests, and a look at what the database holds."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from sqlalchemy import func, select

from relayflow import security
from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.store.base import Base
from relayflow.store.db import Database
from relayflow.store.models import User

PASSWORD = "correct horse battery staple"
# What the API fuzz test ran (test_openapi_fuzz.py), shown at the end of the run.
FUZZ_SUMMARY = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    summary = terminalreporter.config.stash.get(FUZZ_SUMMARY, None)
    if summary:
        terminalreporter.write_line(summary)


@cache
def password_hash() -> str:
    # Argon2 is slow on purpose; hash the shared test password once per session.
    return security.hash_password(PASSWORD)


@dataclass(frozen=True)
class SignedIn:
    id: uuid.UUID
    email: str
    role: Role
    headers: dict[str, str]

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.id, role=self.role)


MakeUser = Callable[..., Awaitable[SignedIn]]


@pytest.fixture
def make_user(db: Database, settings: Settings) -> MakeUser:
    """An account (stored directly) and a bearer token for it."""

    async def make(email: str, role: Role = Role.USER) -> SignedIn:
        async with db.transaction() as session:
            user = User(email=email, password_hash=password_hash(), name=None, role=role.value)
            session.add(user)
            await session.flush()
            user_id = user.id
        token = security.issue_access_token(settings, Actor(user_id=user_id, role=role)).token
        return SignedIn(user_id, email, role, {"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
async def admin(make_user: MakeUser) -> SignedIn:
    return await make_user("admin@example.com", Role.ADMIN)


@pytest.fixture
async def alice(make_user: MakeUser) -> SignedIn:
    return await make_user("alice@example.com")


@pytest.fixture
async def bob(make_user: MakeUser) -> SignedIn:
    return await make_user("bob@example.com")


async def count_rows(db: Database, model: type[Base]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def table_snapshot(db: Database, *models: type[Base]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the given tables, for asserting that nothing changed."""
    snapshot: dict[str, list[dict[str, Any]]] = {}
    async with db.session() as session:
        for model in models:
            table = model.__table__
            rows = (await session.execute(select(table).order_by(*table.primary_key))).all()
            snapshot[str(model.__tablename__)] = [dict(row._mapping) for row in rows]
    return snapshot


def graph(node_count: int = 2) -> dict[str, list[dict[str, Any]]]:
    """A small well-formed React Flow graph: input -> transform... -> output."""
    nodes: list[dict[str, Any]] = [
        {
            "id": f"n{i}",
            "type": "transform",
            "position": {"x": i * 100, "y": 0},
            "data": {"value": "{{ input }}"},
        }
        for i in range(node_count)
    ]
    nodes[0].update(type="input", data={})
    nodes[-1]["type"] = "output"
    edges = [
        {"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}"} for i in range(node_count - 1)
    ]
    return {"nodes": nodes, "edges": edges}


def workflow_body(name: str = "Flow", **extra: Any) -> dict[str, Any]:
    return {"name": name, **graph(), **extra}


def template_body(name: str = "My agent", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "role": "assistant",
        "model": "test:echo",
        "system_prompt": "Be helpful.",
        "parameters": {"temperature": 0.5},
        **extra,
    }
