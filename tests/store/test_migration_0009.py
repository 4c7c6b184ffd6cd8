"""Migration 0009 (credentials and API tokens) goes up and down on both databases."""

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
        await upgrade(db, "0009")
        upgraded = await _tables(db)
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "-1"))
        downgraded = await _tables(db)
        await upgrade(db, "0009")

        assert {"api_tokens", "credentials"} <= upgraded
        assert not {"api_tokens", "credentials"} & downgraded
        assert downgraded == upgraded - {"api_tokens", "credentials"}
        assert await _tables(db) == upgraded
