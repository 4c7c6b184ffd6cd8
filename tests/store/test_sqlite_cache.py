"""SQLite: the page cache of the hot-path connections is a setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from relayflow.config import Settings
from relayflow.store.db import Database


async def test_the_hot_path_connections_keep_the_configured_page_cache(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}", sqlite_cache_mb=8)
    try:
        starts = await db.direct_sqlite().fetchone("PRAGMA cache_size", ())
        writes = await db.sqlite_writer().fetchone("PRAGMA cache_size", ())
    finally:
        await db.dispose()
    assert starts == (-8 * 1024,)  # negative: KiB
    assert writes == (-8 * 1024,)


@pytest.mark.parametrize("megabytes", [0, 4097])
def test_a_cache_size_out_of_range_is_refused_naming_the_setting(megabytes: int) -> None:
    with pytest.raises(ValidationError, match="sqlite_cache_mb"):
        Settings(sqlite_cache_mb=megabytes)


async def test_every_process_opens_its_database_with_the_configured_settings(
    tmp_path: Path,
) -> None:
    """The API, the worker and the CLI open the database through `from_settings`."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'set.db'}",
        sqlite_cache_mb=16,
        sqlite_busy_timeout_s=2.5,
    )
    db = Database.from_settings(settings)
    try:
        cache = await db.sqlite_writer().fetchone("PRAGMA cache_size", ())
        busy = await db.direct_sqlite().fetchone("PRAGMA busy_timeout", ())
    finally:
        await db.dispose()
    assert cache == (-16 * 1024,)
    assert busy == (2500,)
