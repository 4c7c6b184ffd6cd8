"""The database work of `POST /api/v1/workflows/{id}/executions`: who asks, what they start.

Two reads and one write per start, in two statements: the caller's account (a
deleted account or a demoted admin stops at once, whatever the token says) with
the workflow's owner, visibility and input schema; then the pending row.

- `PostgresStartStore`: both statements on the database's direct asyncpg pool
  (see `store.direct_pg` for why), the pending row copied from the workflow
  server-side, so the graph is never loaded into Python.
- `SqliteStartStore`: the same on the direct aiosqlite connection (`store.direct_sqlite`).

Workers are woken after the commit (a coalesced NOTIFY on PostgreSQL).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from relayflow import errors
from relayflow.domain import Role
from relayflow.input_schema import input_schema_of
from relayflow.store import signals
from relayflow.store.db import Database
from relayflow.store.direct_pg import PendingRow
from relayflow.store.direct_sqlite import bind_uuid, read_json, read_uuid


@dataclass(frozen=True)
class StartTarget:
    """The workflow to start, as the start checks see it."""

    workflow_id: uuid.UUID
    owner_id: uuid.UUID | None
    is_public: bool
    input_schema: Mapping[str, Any] | None  # of the draft
    draft_version: int | None


@dataclass(frozen=True)
class Starter:
    """The caller's account as it is now, and the workflow (None if it does not exist)."""

    role: Role
    target: StartTarget | None
    session_generation: int = 0  # see `users.session_generation`


class StartStore(Protocol):
    async def find(self, user_id: uuid.UUID, workflow_id: uuid.UUID) -> Starter | None:
        """None if the account no longer exists."""
        ...

    async def create(self, row: PendingRow) -> None:
        """Commit the pending row, then wake workers; `NotFound` if the workflow is gone."""
        ...


def start_store_for(db: Database) -> StartStore:
    return SqliteStartStore(db) if db.is_sqlite else PostgresStartStore(db)


def _vanished(workflow_id: uuid.UUID) -> errors.NotFound:
    # Deleted between the check and the write.
    return errors.NotFound(f"workflow {workflow_id} not found")


def _role(value: str | None) -> Role:
    return Role(value or Role.USER.value)


# ----------------------------------------------------------------- PostgreSQL
FIND_SQL = """
SELECT u.role, u.session_generation,
       f.id AS workflow_id, f.user_id AS owner_id, f.is_public, f.draft_version,
       jsonb_path_query_first(f.nodes, '$[*] ? (@.type == "input")') -> 'data' -> 'schema'
         AS input_schema
FROM users u LEFT JOIN workflows f ON f.id = $2
WHERE u.id = $1
"""


class PostgresStartStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, user_id: uuid.UUID, workflow_id: uuid.UUID) -> Starter | None:
        row = await self._db.direct_pg().fetchrow(FIND_SQL, user_id, workflow_id)
        if row is None:
            return None
        generation = int(row["session_generation"] or 0)
        if row["workflow_id"] is None:
            return Starter(_role(row["role"]), None, generation)
        schema = json.loads(row["input_schema"]) if row["input_schema"] is not None else None
        target = StartTarget(
            workflow_id=row["workflow_id"],
            owner_id=row["owner_id"],
            is_public=bool(row["is_public"]),
            input_schema=schema if isinstance(schema, Mapping) and schema else None,
            draft_version=row["draft_version"],
        )
        return Starter(_role(row["role"]), target, generation)

    async def create(self, row: PendingRow) -> None:
        if not await self._db.direct_pg().insert_pending(row):
            raise _vanished(row.workflow_id)
        # After the commit, coalesced with every other signal of this process.
        self._db.signals.send_committed(signals.WORK)


# ----------------------------------------------------------------- SQLite
SQLITE_FIND_SQL = """
SELECT u.role, u.session_generation, f.id, f.user_id, f.is_public, f.nodes, f.draft_version
FROM users u LEFT JOIN workflows f ON f.id = ?2
WHERE u.id = ?1
"""


class SqliteStartStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, user_id: uuid.UUID, workflow_id: uuid.UUID) -> Starter | None:
        direct = self._db.direct_sqlite()
        row = await direct.fetchone(SQLITE_FIND_SQL, (bind_uuid(user_id), bind_uuid(workflow_id)))
        if row is None:
            return None
        role, generation, found_id, owner_id, is_public, nodes, draft_version = row
        if found_id is None:
            return Starter(_role(role), None, int(generation or 0))
        target = StartTarget(
            workflow_id=read_uuid(found_id),
            owner_id=read_uuid(owner_id),
            is_public=bool(is_public),
            input_schema=input_schema_of(read_json(nodes)),
            draft_version=draft_version,
        )
        return Starter(_role(role), target, int(generation or 0))

    async def create(self, row: PendingRow) -> None:
        if not await self._db.direct_sqlite().insert_pending(row):
            raise _vanished(row.workflow_id)
        self._db.signals.send_committed(signals.WORK)
