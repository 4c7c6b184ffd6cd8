"""Migration 0004 (runtime) keeps existing executions and their node runs."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import text

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import BACKEND, create_pg_database, drop_pg_database, pg_url


async def _fresh_at_0003(tmp_path: Path) -> tuple[Database, str | None]:
    if BACKEND == "postgres":
        name = f"rf_mig_{uuid.uuid4().hex[:10]}"
        await create_pg_database(name)
        db = Database(pg_url(name))
    else:
        name = None
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(db, "0003")
    return db, name


async def test_upgrade_and_downgrade_keep_executions_and_node_runs(tmp_path: Path) -> None:
    db, name = await _fresh_at_0003(tmp_path)
    try:
        execution_id, run_id = uuid.uuid4(), uuid.uuid4()
        async with db.transaction() as s:
            await s.execute(
                text("INSERT INTO executions (id, status) VALUES (:id, 'completed')"),
                {"id": execution_id.hex if db.is_sqlite else execution_id},
            )
            await s.execute(
                text(
                    "INSERT INTO node_runs (id, execution_id, node_id, iteration, attempt,"
                    " status) VALUES (:id, :e, 'a', 0, 1, 'completed')"
                ),
                {
                    "id": run_id.hex if db.is_sqlite else run_id,
                    "e": execution_id.hex if db.is_sqlite else execution_id,
                },
            )
        for step in ("upgrade", "downgrade", "upgrade"):
            if step == "upgrade":
                await upgrade(db, "0004")
            else:
                await _downgrade_to_0003(db)
            async with db.session() as s:
                runs = (await s.execute(text("SELECT count(*) FROM node_runs"))).scalar()
                executions = (await s.execute(text("SELECT count(*) FROM executions"))).scalar()
            assert (executions, runs) == (1, 1), f"after {step}"
        async with db.session() as s:
            token = (await s.execute(text("SELECT lease_token FROM executions"))).scalar()
        assert token == 0
    finally:
        await db.dispose()
        if name:
            await drop_pg_database(name)


async def _downgrade_to_0003(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0003"))
