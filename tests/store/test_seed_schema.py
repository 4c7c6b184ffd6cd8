"""The migrated schema contains the seed schema exactly (spec/database-schema.md).

The seed's own SQL runs in one fresh PostgreSQL database, our migrations in
another; every seed column, constraint, foreign key and index must appear in ours
with the same definition. Extra objects are allowed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from relayflow.store.db import Database
from relayflow.store.migrate import upgrade
from tests.support.databases import create_pg_database, drop_pg_database, pg_url

pytestmark = pytest.mark.postgres_only

SEED_SQL = Path(__file__).with_name("seed_schema.sql")
SPEC = Path(__file__).parents[3] / "shared" / "spec" / "database-schema.md"
SEED_TABLES = ("users", "workflows", "executions", "agent_templates", "webhooks")

COLUMNS = """
SELECT table_name, column_name, data_type, character_maximum_length,
       is_nullable, column_default
FROM information_schema.columns
WHERE table_schema = 'public'
"""
CONSTRAINTS = """
SELECT rel.relname AS table_name, con.conname AS name, con.contype AS kind,
       pg_get_constraintdef(con.oid) AS definition
FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
JOIN pg_namespace ns ON ns.oid = rel.relnamespace
WHERE ns.nspname = 'public'
"""
FOREIGN_KEYS = """
SELECT tc.table_name, tc.constraint_name, rc.delete_rule, rc.update_rule
FROM information_schema.table_constraints tc
JOIN information_schema.referential_constraints rc
  ON rc.constraint_name = tc.constraint_name AND rc.constraint_schema = tc.table_schema
WHERE tc.table_schema = 'public' AND tc.constraint_type = 'FOREIGN KEY'
"""
INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"


async def _catalog(database: str) -> dict[str, set[tuple[Any, ...]]]:
    conn = await asyncpg.connect(pg_url(database, driver="postgresql"))
    try:
        result = {}
        for name, query in (
            ("columns", COLUMNS),
            ("constraints", CONSTRAINTS),
            ("foreign_keys", FOREIGN_KEYS),
            ("indexes", INDEXES),
        ):
            rows = await conn.fetch(query)
            result[name] = {tuple(row.values()) for row in rows if row[0] in SEED_TABLES}
        return result
    finally:
        await conn.close()


@pytest.fixture
async def seed_and_migrated() -> AsyncIterator[tuple[str, str]]:
    seed_db, our_db = (f"rf_schema_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("seed", "ours"))
    await create_pg_database(seed_db)
    await create_pg_database(our_db)
    try:
        conn = await asyncpg.connect(pg_url(seed_db, driver="postgresql"))
        try:
            await conn.execute(SEED_SQL.read_text())
        finally:
            await conn.close()
        db = Database(pg_url(our_db))
        await upgrade(db)
        await db.dispose()
        yield seed_db, our_db
    finally:
        await drop_pg_database(seed_db)
        await drop_pg_database(our_db)


def test_vendored_seed_sql_matches_the_spec() -> None:
    if not SPEC.exists():
        pytest.skip(f"spec not found at {SPEC}")
    blocks = re.findall(r"```sql\n(.*?)```", SPEC.read_text(), re.S)
    vendored = SEED_SQL.read_text().split("\n", 2)[2]
    assert vendored == "\n".join(blocks)


async def test_migrations_contain_every_seed_object_exactly(
    seed_and_migrated: tuple[str, str],
) -> None:
    seed_db, our_db = seed_and_migrated
    seed, ours = await _catalog(seed_db), await _catalog(our_db)
    for kind in ("columns", "constraints", "foreign_keys", "indexes"):
        assert seed[kind], f"the seed defines no {kind}?"
        missing = seed[kind] - ours[kind]
        assert not missing, f"{kind} of the seed missing or different in ours: {sorted(missing)}"


async def test_seed_indexes_and_cascades_are_present(seed_and_migrated: tuple[str, str]) -> None:
    _, our_db = seed_and_migrated
    ours = await _catalog(our_db)
    index_names = {row[1] for row in ours["indexes"]}
    assert {
        "idx_users_email",
        "idx_workflows_user_id",
        "idx_workflows_created_at",
        "idx_executions_workflow_id",
        "idx_executions_status",
        "idx_executions_started_at",
        "idx_webhooks_api_key",
    } <= index_names
    cascades = {(row[0], row[1]) for row in ours["foreign_keys"] if row[2] == "CASCADE"}
    assert {
        ("workflows", "workflows_user_id_fkey"),
        ("executions", "executions_workflow_id_fkey"),
        ("webhooks", "webhooks_workflow_id_fkey"),
    } <= cascades
