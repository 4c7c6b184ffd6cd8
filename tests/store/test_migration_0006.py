"""Migration 0006 (hardening) goes up and down on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import empty_database


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0006")
        upgraded = await _tables(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0005"))
        downgraded = await _tables(db)
        await upgrade(db, "0006")

        assert {"login_counters", "seen_signatures"} <= upgraded
        assert "login_failures" not in upgraded
        assert "login_failures" in downgraded
        assert not {"login_counters", "seen_signatures"} & downgraded
        assert await _tables(db) == upgraded
