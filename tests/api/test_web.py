"""The web app's build is served at `/` without shadowing any API path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.store.db import Database

INDEX = "<!doctype html><title>relayflow app</title>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-1234.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


async def serve(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def web(settings: Settings, db: Database, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(settings.model_copy(update={"web_dist": dist}), db):
        yield client


async def test_root_and_app_routes_answer_with_index(web: httpx.AsyncClient) -> None:
    for path in ("/", "/workflows", "/workflows/123/executions", "/signin?next=x"):
        answer = await web.get(path)
        assert answer.status_code == 200, path
        assert answer.text == INDEX
        assert answer.headers["cache-control"] == "no-cache"


async def test_built_files_are_served_with_long_cache(web: httpx.AsyncClient) -> None:
    answer = await web.get("/assets/app-1234.js")
    assert answer.status_code == 200
    assert answer.text == "console.log('hi')"
    assert "immutable" in answer.headers["cache-control"]


async def test_missing_files_are_404_not_index(web: httpx.AsyncClient) -> None:
    answer = await web.get("/assets/missing.js")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_files_outside_the_build_are_not_served(web: httpx.AsyncClient) -> None:
    answer = await web.get("/../secret.txt")
    assert "outside the build" not in answer.text
    answer = await web.get("/%2e%2e/secret.txt")
    assert "outside the build" not in answer.text


async def test_api_paths_keep_their_own_answers(web: httpx.AsyncClient) -> None:
    unknown = await web.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert (await web.get("/healthz")).json() == {"status": "ok"}
    assert (await web.get("/openapi.json")).json()["info"]["title"] == "relayflow"
    # A wrong method on an API route is still 405, and other methods never reach the app.
    assert (await web.delete("/healthz")).status_code == 405
    assert (await web.post("/workflows")).status_code == 404


async def test_unbuilt_app_explains_how_to_build(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    async for client in serve(settings.model_copy(update={"web_dist": tmp_path / "nothing"}), db):
        answer = await client.get("/")
        assert answer.status_code == 200
        assert "npm run build" in answer.text
        assert (await client.get("/api/v1/nope")).status_code == 404
