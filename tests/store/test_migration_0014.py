"""Migration 0014 (history reads) goes up and down on both databases."""

from __future__ import annotations

from pathlib import Path

from relayflow.store.db import Database
from tests.support.databases import index_names, up_down_up

ADDED = {"ix_executions_user_started", "ix_executions_workflow_started"}


async def _indexes(db: Database) -> set[str]:
    return await index_names(db, "executions")


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    upgraded, downgraded, again = await up_down_up(tmp_path, "0014", _indexes)

    assert upgraded >= ADDED
    assert "ix_executions_user_id" not in upgraded  # the new user index leads with it
    assert not downgraded & ADDED
    assert "ix_executions_user_id" in downgraded
    assert {"idx_executions_workflow_id", "idx_executions_started_at"} <= upgraded  # seed's
    assert again == upgraded
