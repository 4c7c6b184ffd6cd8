"""Migration 0007 (durability): a node's completion is unique; earlier repeats are kept aside."""

from __future__ import annotations

import datetime as dt
import importlib
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from relayflow.store.queue import pending
from tests.support.databases import empty_database
from tests.support.rows import make_user, make_workflow

MIGRATION = importlib.import_module("relayflow.store.migrations.versions.0007_durability")


async def _completed(db: Database, execution_id: uuid.UUID, at: dt.datetime) -> uuid.UUID:
    row_id = uuid.uuid4()
    async with db.transaction() as session:
        await session.execute(
            insert(models.NodeRun).values(
                id=row_id,
                execution_id=execution_id,
                node_id="n1",
                iteration=0,
                attempt=1,
                status="completed",
                started_at=at,
                finished_at=at,
            )
        )
    return row_id


async def test_upgrade_keeps_the_first_completion_and_downgrade_drops_the_index(
    tmp_path: Path,
) -> None:
    async with empty_database(tmp_path) as db:
        # Rows made with today's models at the head, then taken back to before 0007.
        await upgrade(db)
        user = await make_user(db)
        workflow = await make_workflow(db, user)
        async with db.transaction() as session:
            execution = await pending.create_pending_execution(
                session, workflow=workflow, input={}, trigger={"type": "api"}, user_id=user
            )
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0006"))
        t0 = dt.datetime(2026, 11, 30, 12, 0, 0)
        first = await _completed(db, execution.id, t0)
        repeat = await _completed(db, execution.id, t0 + dt.timedelta(seconds=5))

        await upgrade(db, "0007")
        async with db.session() as session:
            rows = (
                await session.execute(
                    select(models.NodeRun.id, models.NodeRun.status, models.NodeRun.error)
                )
            ).all()
        assert {(r.id, r.status) for r in rows} == {(first, "completed"), (repeat, "cancelled")}
        assert {r.error for r in rows if r.id == repeat} == {MIGRATION.DUPLICATE_NOTE}
        with pytest.raises(IntegrityError):
            await _completed(db, execution.id, t0 + dt.timedelta(seconds=9))

        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0006"))
        await _completed(db, execution.id, t0 + dt.timedelta(seconds=9))  # no index now
