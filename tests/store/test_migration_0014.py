"""Migration 0014 (history reads) goes up and down on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import empty_database, index_names

ADDED = {"ix_executions_user_started", "ix_executions_workflow_started"}


async def _indexes(db: Database) -> set[str]:
    return await index_names(db, "executions")


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0014")
        upgraded = await _indexes(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "-1"))
        downgraded = await _indexes(db)
        await upgrade(db, "0014")

        assert upgraded >= ADDED
        assert "ix_executions_user_id" not in upgraded  # the new user index leads with it
        assert not downgraded & ADDED
        assert "ix_executions_user_id" in downgraded
        assert {"idx_executions_workflow_id", "idx_executions_started_at"} <= upgraded  # seed's
        assert await _indexes(db) == upgraded
