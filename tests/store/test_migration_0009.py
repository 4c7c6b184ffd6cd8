"""Migration 0009 (credentials and API tokens) goes up and down on both databases."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import BACKEND, create_pg_database, drop_pg_database, pg_url


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    name = f"rf_mig_{uuid.uuid4().hex[:10]}" if BACKEND == "postgres" else None
    if name:
        await create_pg_database(name)
    db = Database(pg_url(name) if name else f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
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
    finally:
        await db.dispose()
        if name:
            await drop_pg_database(name)
