"""Migration 0006 (hardening) goes up and down on both databases."""

from __future__ import annotations

from pathlib import Path

from tests.support.databases import table_names, up_down_up


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    upgraded, downgraded, again = await up_down_up(tmp_path, "0006", table_names)

    assert {"login_counters", "seen_signatures"} <= upgraded
    assert "login_failures" not in upgraded
    assert "login_failures" in downgraded
    assert not {"login_counters", "seen_signatures"} & downgraded
    assert again == upgraded
