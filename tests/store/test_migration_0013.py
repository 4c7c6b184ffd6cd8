"""Migration 0013 (session generations) goes up and down on both databases, and
going down keeps every account and what it owns."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import Uuid, bindparam, inspect, text

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import empty_database


async def _user_columns(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("users")}
        )


async def _scalar(db: Database, sql: str) -> object:
    async with db.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0008")
        user = uuid.uuid4()
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, password_hash) VALUES (:id, 'a@b.c', 'x')"
                ).bindparams(bindparam("id", type_=Uuid())),
                {"id": user},
            )
            await conn.execute(
                text(
                    "INSERT INTO workflows (id, user_id, name, nodes, edges)"
                    " VALUES (:id, :user, 'w', '[]', '[]')"
                ).bindparams(bindparam("id", type_=Uuid()), bindparam("user", type_=Uuid())),
                {"id": uuid.uuid4(), "user": user},
            )
        await upgrade(db, "0013")
        up_columns = await _user_columns(db)
        existing_generation = await _scalar(db, "SELECT session_generation FROM users")
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0008"))
        down_columns = await _user_columns(db)
        kept = (
            await _scalar(db, "SELECT count(*) FROM users"),
            await _scalar(db, "SELECT count(*) FROM workflows"),
        )
        await upgrade(db, "0013")

        assert "session_generation" in up_columns
        assert existing_generation == 0  # accounts from before keep their sign-ins
        assert "session_generation" not in down_columns
        assert kept == (1, 1)
        assert await _user_columns(db) == up_columns
