"""Migration 0011 (interop): the `chat_model` and `mcp_tool` flags on workflows, off by default."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import (
    BACKEND,
    empty_database,
)

FLAGS = {"chat_model", "mcp_tool"}


async def _columns(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("workflows")}
        )


async def test_upgrade_adds_the_flags_off_and_downgrade_removes_them(tmp_path: Path) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0010")
        workflow_id = uuid.uuid4().hex
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO workflows (id, name, nodes, edges) VALUES (:id, 'w', '[]', '[]')"
                ),
                {"id": workflow_id if BACKEND == "sqlite" else str(uuid.UUID(workflow_id))},
            )
        await upgrade(db, "0011")
        assert await _columns(db) >= FLAGS
        async with db.engine.connect() as conn:
            flags = (await conn.execute(text("SELECT chat_model, mcp_tool FROM workflows"))).one()
        assert tuple(flags) == (False, False)

        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0010"))
        assert not FLAGS & await _columns(db)
