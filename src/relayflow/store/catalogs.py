"""The engine's TemplateCatalog and WorkflowCatalog, read from the database.

Both answer only what the execution's user may read: system templates and the
user's own (admins: all); workflows the user owns, public ones (admins: all).
Anything else is None, exactly like an unknown id.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relayflow.domain import Role
from relayflow.engine.ports import AgentProfile
from relayflow.store import models
from relayflow.store.db import Database

TEMPLATE_TTL_S = 5.0  # templates are read per agent node; a short cache saves round trips


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class _CachedTemplate:
    profile: AgentProfile | None
    owner: uuid.UUID | None
    is_system: bool
    read_at: float


class UserRoles:
    """Whether a user is an admin, cached briefly (a worker runs for days)."""

    def __init__(self, db: Database, *, ttl_s: float = 30.0) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._admin: dict[uuid.UUID, tuple[bool, float]] = {}

    async def is_admin(self, user_id: uuid.UUID | None) -> bool:
        if user_id is None:
            return False
        cached = self._admin.get(user_id)
        if cached is not None and time.monotonic() - cached[1] <= self._ttl_s:
            return cached[0]
        async with self._db.session() as session:
            user = await session.get(models.User, user_id)
        admin = user is not None and user.role == Role.ADMIN.value
        self._admin[user_id] = (admin, time.monotonic())
        return admin


class SqlTemplateCatalog:
    """Agent templates one user may use (bind one per execution with `for_user`)."""

    def __init__(self, db: Database, *, ttl_s: float = TEMPLATE_TTL_S) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._cache: dict[uuid.UUID, _CachedTemplate] = {}
        self._roles = UserRoles(db)

    def for_user(self, user_id: uuid.UUID | None) -> UserTemplateCatalog:
        return UserTemplateCatalog(self, user_id)

    async def lookup(self, template_id: str, user_id: uuid.UUID | None) -> AgentProfile | None:
        key = _uuid(template_id)
        if key is None:
            return None
        cached = self._cache.get(key)
        if cached is None or time.monotonic() - cached.read_at > self._ttl_s:
            cached = await self._read(key)
            self._cache[key] = cached
        if cached.profile is None:
            return None
        if cached.is_system or (user_id is not None and cached.owner == user_id):
            return cached.profile
        return cached.profile if await self._roles.is_admin(user_id) else None

    async def _read(self, template_id: uuid.UUID) -> _CachedTemplate:
        async with self._db.session() as session:
            row = await session.get(models.AgentTemplate, template_id)
        now = time.monotonic()
        if row is None:
            return _CachedTemplate(None, None, False, now)
        profile = AgentProfile(
            id=str(row.id),
            name=row.name,
            role=row.role,
            model=row.model,
            system_prompt=row.system_prompt,
            parameters=dict(row.parameters or {}),
            credential_id=str(row.credential_id) if row.credential_id else None,
        )
        return _CachedTemplate(profile, row.user_id, bool(row.is_system), now)


@dataclass(frozen=True)
class UserTemplateCatalog:
    """`engine.ports.TemplateCatalog` for one execution's user."""

    catalog: SqlTemplateCatalog
    user_id: uuid.UUID | None

    async def get_profile(self, template_id: str) -> AgentProfile | None:
        return await self.catalog.lookup(template_id, self.user_id)


class SqlWorkflowCatalog:
    """`engine.ports.WorkflowCatalog`: graphs of workflows the user may read."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._roles = UserRoles(db)

    async def get_graph(
        self, workflow_id: str, *, user_id: uuid.UUID | None
    ) -> Mapping[str, Any] | None:
        key = _uuid(workflow_id)
        if key is None:
            return None
        async with self._db.session() as session:
            workflow = await session.get(models.Workflow, key)
        if workflow is None:
            return None
        readable = (
            bool(workflow.is_public)
            or (user_id is not None and workflow.user_id == user_id)
            or await self._roles.is_admin(user_id)
        )
        if not readable:
            return None
        return {"nodes": list(workflow.nodes or []), "edges": list(workflow.edges or [])}
