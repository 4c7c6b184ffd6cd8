"""Migration 0010 (versions) gives every existing workflow version 1, published, and goes
up and down on both databases keeping workflows and executions."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from relayflow.store.db import Database
from relayflow.store.migrate import alembic_config, upgrade
from tests.support.databases import empty_database

GRAPH = {
    "nodes": [{"id": "a", "type": "input", "position": {"x": 0, "y": 0}, "data": {}}],
    "edges": [],
}


async def _columns(db: Database, table: str) -> set[str]:
    async with db.engine.connect() as conn:
        found = await conn.run_sync(lambda c: inspect(c).get_columns(table))
    return {c["name"] for c in found}


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


def _id(db: Database, value: uuid.UUID) -> object:
    return value.hex if db.is_sqlite else value


async def _seed_rows(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    user_id, workflow_id, execution_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # PostgreSQL takes the JSON text as jsonb; SQLite stores the text itself.
    n, e = (":n", ":e") if db.is_sqlite else ("CAST(:n AS jsonb)", "CAST(:e AS jsonb)")
    async with db.transaction() as s:
        await s.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:id, 'a@b.c', 'x')"),
            {"id": _id(db, user_id)},
        )
        await s.execute(
            text(
                "INSERT INTO workflows (id, user_id, name, nodes, edges, created_at)"
                f" VALUES (:id, :u, 'old', {n}, {e}, '2026-01-02 03:04:05')"
            ),
            {
                "id": _id(db, workflow_id),
                "u": _id(db, user_id),
                "n": json.dumps(GRAPH["nodes"]),
                "e": json.dumps(GRAPH["edges"]),
            },
        )
        await s.execute(
            text("INSERT INTO executions (id, workflow_id, status) VALUES (:id, :w, 'completed')"),
            {"id": _id(db, execution_id), "w": _id(db, workflow_id)},
        )
    return user_id, workflow_id


async def _downgrade(db: Database, revision: str) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))


async def test_existing_workflows_get_version_one_published_and_down_keeps_rows(
    tmp_path: Path,
) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db, "0009")
        user_id, workflow_id = await _seed_rows(db)

        await upgrade(db, "0010")
        async with db.session() as s:
            version = (
                await s.execute(
                    text(
                        "SELECT workflow_id, number, graph, author_id, created_at"
                        " FROM workflow_versions"
                    )
                )
            ).one()
            pointers = (
                await s.execute(text("SELECT draft_version, published_version FROM workflows"))
            ).one()
            ran = (await s.execute(text("SELECT workflow_version FROM executions"))).scalar()
        graph = json.loads(version.graph) if isinstance(version.graph, str) else version.graph
        assert str(version.workflow_id).replace("-", "") == workflow_id.hex
        assert version.number == 1
        assert graph == GRAPH
        assert str(version.author_id).replace("-", "") == user_id.hex
        assert str(version.created_at).startswith("2026-01-02 03:04:05")
        assert tuple(pointers) == (1, 1)
        assert ran is None  # which graph an old run ran is not known

        await _downgrade(db, "0009")
        assert "workflow_versions" not in await _tables(db)
        assert not {"draft_version", "published_version"} & await _columns(db, "workflows")
        assert "workflow_version" not in await _columns(db, "executions")
        async with db.session() as s:
            counts = (
                await s.execute(
                    text(
                        "SELECT (SELECT count(*) FROM workflows), (SELECT count(*) FROM executions)"
                    )
                )
            ).one()
        assert tuple(counts) == (1, 1)

        await upgrade(db, "0010")
        async with db.session() as s:
            again = (await s.execute(text("SELECT count(*) FROM workflow_versions"))).scalar()
        assert again == 1
