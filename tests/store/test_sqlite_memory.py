"""SQLite: the page cache of the hot-path connections and the memory map of every
connection are settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

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


async def mapped_bytes(db: Database) -> list[int]:
    """What each kind of connection maps: the sessions', the starts', the writer's."""
    async with db.session() as session:
        orm = (await session.execute(text("PRAGMA mmap_size"))).scalar_one()
    starts = await db.direct_sqlite().fetchone("PRAGMA mmap_size", ())
    writes = await db.sqlite_writer().fetchone("PRAGMA mmap_size", ())
    assert starts is not None
    assert writes is not None
    return [orm, starts[0], writes[0]]


@pytest.mark.parametrize("megabytes", [0, 64])
async def test_every_connection_maps_the_configured_part_of_the_file(
    tmp_path: Path, megabytes: int
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'map.db'}", sqlite_mmap_mb=megabytes
    )
    db = Database.from_settings(settings)
    try:
        assert await mapped_bytes(db) == [megabytes * 1024 * 1024] * 3
    finally:
        await db.dispose()


async def test_a_map_larger_than_sqlite_allows_is_capped_not_refused(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'map.db'}", sqlite_mmap_mb=1024 * 1024)
    try:
        mapped = await mapped_bytes(db)
    finally:
        await db.dispose()
    assert len(set(mapped)) == 1
    assert 0 < mapped[0] <= 1024**4  # the build's maximum (2 GiB on Debian's)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("sqlite_cache_mb", 0), ("sqlite_cache_mb", 4097), ("sqlite_mmap_mb", -1)],
)
def test_a_size_out_of_range_is_refused_naming_the_setting(setting: str, value: int) -> None:
    with pytest.raises(ValidationError, match=setting):
        Settings(**{setting: value})
