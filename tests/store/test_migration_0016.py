"""Migration 0016 (claims by user) goes up and down on both databases, keeping the
pending executions' index by user in either form."""

from __future__ import annotations

from pathlib import Path

from relayflow.store.db import Database
from tests.support.databases import index_names, up_down_up

ADDED, REPLACED = "ix_executions_pending_user_started", "ix_executions_pending_user_id"


async def _indexes(db: Database) -> set[str]:
    return await index_names(db, "executions")


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    upgraded, downgraded, again = await up_down_up(tmp_path, "0016", _indexes)

    assert upgraded - downgraded == {ADDED}
    assert downgraded - upgraded == {REPLACED}
    assert {"ix_executions_user_started", "idx_executions_status"} <= upgraded
    assert again == upgraded
