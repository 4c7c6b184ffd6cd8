"""Shared fixtures: settings, a fresh database per test, the app and a client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.store.db import Database
from tests.support.databases import BACKEND, DatabaseFactory

TEST_SECRET = "test-secret-" + "x" * 40
TEST_CREDENTIALS_KEY = "dGVzdC1jcmVkZW50aWFscy1rZXktMzItYnl0ZXMhISE="  # Fernet: 32 bytes


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND == "postgres":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (RELAYFLOW_TEST_DB=postgres)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    asyncio.run(factory.prepare())
    yield factory
    factory.close()


@pytest.fixture
async def database_url(database_factory: DatabaseFactory) -> AsyncIterator[str]:
    url = await database_factory.fresh_url()
    yield url
    await database_factory.drop(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        credentials_key=TEST_CREDENTIALS_KEY,
        migrate_on_start=False,
        login_delay_max_s=0.05,
        # The scheduler's own tests build their schedulers. One inside every test's app
        # would fire, at the top of the hour, a schedule that test made (and change the
        # rows it compares before and after).
        scheduler_enabled=False,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.resolved_database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, db=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
