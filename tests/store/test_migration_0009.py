"""Migration 0009 (credentials and API tokens) goes up and down on both databases."""

from __future__ import annotations

from pathlib import Path

from tests.support.databases import table_names, up_down_up


async def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    upgraded, downgraded, again = await up_down_up(tmp_path, "0009", table_names)

    assert {"api_tokens", "credentials"} <= upgraded
    assert not {"api_tokens", "credentials"} & downgraded
    assert downgraded == upgraded - {"api_tokens", "credentials"}
    assert again == upgraded
