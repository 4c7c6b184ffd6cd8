"""Migration 0008 (queue speed) goes up and down on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import empty_database, index_names

LIVE = {
    "ix_executions_pending_started_at",
    "ix_executions_pending_user_id",
    "ix_executions_processing_user_id",
}


async def _indexes(db: Database) -> set[str]:
    return await index_names(db, "executions")


async def _options(db: Database) -> list[str]:
    if db.is_sqlite:
        return []
    async with db.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT reloptions FROM pg_class WHERE relname = 'executions'")
        )
        return list(result.scalar_one() or [])


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0008")
        upgraded, options = await _indexes(db), await _options(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "-1"))
        downgraded, options_down = await _indexes(db), await _options(db)
        await upgrade(db, "0008")

        assert upgraded >= LIVE
        assert not downgraded & LIVE
        assert "idx_executions_status" in downgraded  # the seed's indexes stay
        if not db.is_sqlite:
            assert "fillfactor=70" in options
            assert options_down == []
        assert await _indexes(db) == upgraded
