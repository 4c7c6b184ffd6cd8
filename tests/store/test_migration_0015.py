"""Migration 0015 (filtered history reads) goes up and down on both databases, and the
filtered page reads along its index."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text

from relayflow.store.db import Database
from relayflow.store.migrate import upgrade
from tests.support.databases import empty_database, index_names, up_down_up

ADDED = "ix_executions_workflow_status_started"


async def _indexes(db: Database) -> set[str]:
    return await index_names(db, "executions")


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    upgraded, downgraded, again = await up_down_up(tmp_path, "0015", _indexes)

    assert ADDED in upgraded
    assert ADDED not in downgraded
    assert upgraded - downgraded == {ADDED}
    assert {"idx_executions_workflow_id", "idx_executions_status"} <= upgraded  # seed's
    assert again == upgraded


async def test_a_page_of_one_workflow_and_status_is_read_along_the_index(
    tmp_path: Path,
) -> None:
    async with empty_database(tmp_path) as db:
        await upgrade(db)
        workflow = uuid.uuid4()
        query = (
            "SELECT id FROM executions WHERE workflow_id = :w AND status = 'completed' "
            "ORDER BY started_at DESC, id DESC LIMIT 20"
        )
        async with db.engine.connect() as conn:
            if db.is_sqlite:
                plan = " ".join(
                    str(row[3])
                    for row in await conn.execute(
                        text(f"EXPLAIN QUERY PLAN {query}"), {"w": workflow.hex}
                    )
                )
            else:
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                plan = " ".join(
                    str(row[0])
                    for row in await conn.execute(text(f"EXPLAIN {query}"), {"w": workflow})
                )
        assert ADDED in plan, plan
        # Already in page order: nothing to sort.
        assert "TEMP B-TREE" not in plan, plan
        assert "Sort" not in plan, plan
