"""/docs and /redoc load every asset from relayflow itself, so they work offline."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.store.db import Database


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def referenced_urls(html: str) -> list[str]:
    """Every script, stylesheet, icon and spec URL a docs page loads."""
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    return urls


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png"}),
    ],
)
async def test_docs_pages_load_only_local_assets(
    client: httpx.AsyncClient, path: str, assets: set[str]
) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    urls = referenced_urls(page.text)
    assert "/openapi.json" in urls
    assert {url.rsplit("/", 1)[-1] for url in urls if url.startswith("/docs/assets/")} == assets
    for url in urls:
        assert url.startswith("/"), f"{path} loads {url} from another host"
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert len(answer.content) > 1000, url


async def test_swagger_bundle_defines_its_global(client: httpx.AsyncClient) -> None:
    # The page's inline script calls SwaggerUIBundle: the served file must define it.
    page = await client.get("/docs")
    assert "SwaggerUIBundle(" in page.text
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))


async def test_docs_assets_do_not_leave_their_folder(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/assets/missing.js")).status_code == 404
    answer = await client.get("/docs/assets/%2e%2e/core.py")
    assert answer.status_code == 404
    assert "FastAPI" not in answer.text


async def test_docs_pages_are_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]


async def test_redoc_bundle_reaches_no_other_host_for_its_logo(client: httpx.AsyncClient) -> None:
    bundle = await client.get("/docs/assets/redoc.standalone.js")
    assert bundle.status_code == 200
    assert "Redoc" in bundle.text
    assert "cdn.redoc.ly" not in bundle.text
