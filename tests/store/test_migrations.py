"""Migrations and typed models describe the same schema, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from relayflow.store.base import Base
from relayflow.store.db import Database
from relayflow.store.migrate import current_revision, head_revision


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_database_is_at_the_head_revision(db: Database) -> None:
    assert await current_revision(db) == head_revision()


async def test_models_match_migrations(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []
