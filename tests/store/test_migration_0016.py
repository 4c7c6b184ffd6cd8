"""Migration 0016 (claims by user) goes up and down on both databases, keeping the
pending executions' index by user in either form."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import empty_database, index_names

ADDED, REPLACED = "ix_executions_pending_user_started", "ix_executions_pending_user_id"


async def _indexes(db: Database) -> set[str]:
    return await index_names(db, "executions")


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0016")
        upgraded = await _indexes(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "-1"))
        downgraded = await _indexes(db)
        await upgrade(db, "0016")

        assert upgraded - downgraded == {ADDED}
        assert downgraded - upgraded == {REPLACED}
        assert {"ix_executions_user_started", "idx_executions_status"} <= upgraded
        assert await _indexes(db) == upgraded
