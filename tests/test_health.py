from pathlib import Path

import httpx

from relayflow.store.db import Database, create_engine


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_reachable(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_readyz_answers_503_when_database_unreachable(
    client: httpx.AsyncClient, db: Database, tmp_path: Path
) -> None:
    # Point the app at a database that cannot be opened: a closed port, or a directory.
    unreachable = (
        f"sqlite+aiosqlite:///{tmp_path}"
        if db.is_sqlite
        else "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    )
    working = db.engine
    db.engine = create_engine(unreachable)
    try:
        response = await client.get("/readyz")
    finally:
        await db.engine.dispose()
        db.engine = working
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
