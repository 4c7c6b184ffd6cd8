"""Migration 0012 (retention, parallelism per workflow) goes up and down on both
databases, and going down keeps every workflow and execution."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import Uuid, bindparam, inspect, text

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import empty_database


async def _shape(db: Database) -> tuple[set[str], set[str]]:
    def read(conn: object) -> tuple[set[str], set[str]]:
        inspector = inspect(conn)
        columns = {c["name"] for c in inspector.get_columns("workflows")}
        indexes = {
            i["name"] or ""
            for table in ("executions", "idempotency_keys")
            for i in inspector.get_indexes(table)
        }
        return columns, indexes

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def _count(db: Database, table: str) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0012")
        columns, indexes = await _shape(db)
        async with db.engine.begin() as conn:
            user, workflow = uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, password_hash) VALUES (:id, 'a@b.c', 'x')"
                ).bindparams(bindparam("id", type_=Uuid())),
                {"id": user},
            )
            await conn.execute(
                text(
                    "INSERT INTO workflows (id, user_id, name, nodes, edges, retention_days)"
                    " VALUES (:id, :user, 'w', '[]', '[]', 7)"
                ).bindparams(bindparam("id", type_=Uuid()), bindparam("user", type_=Uuid())),
                {"id": workflow, "user": user},
            )
            await conn.execute(
                text(
                    "INSERT INTO executions (id, workflow_id, status) VALUES (:id, :wf, 'x')"
                ).bindparams(bindparam("id", type_=Uuid()), bindparam("wf", type_=Uuid())),
                {"id": uuid.uuid4(), "wf": workflow},
            )
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "-1"))
        down_columns, down_indexes = await _shape(db)
        kept = (await _count(db, "workflows"), await _count(db, "executions"))
        await upgrade(db, "0012")

        assert {"retention_days", "max_parallel_nodes"} <= columns
        assert {"ix_executions_rerun_of", "ix_idempotency_keys_execution_id"} <= indexes
        assert not {"retention_days", "max_parallel_nodes"} & down_columns
        assert not {"ix_executions_rerun_of", "ix_idempotency_keys_execution_id"} & down_indexes
        assert kept == (1, 1)
        assert await _shape(db) == (columns, indexes)
