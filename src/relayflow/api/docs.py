"""The API's interactive documentation at /docs (Swagger UI) and /redoc (ReDoc), offline.

FastAPI's own pages load their JavaScript from a CDN, so they are blank on a machine
without internet access. These pages load the same assets from relayflow itself: the
files ship in the `fastapi-offline` package and are served under /docs/assets/.
ReDoc's bundle shows an attribution logo from its CDN; that one URL is replaced by an
empty inline image, so an offline page makes no request that fails.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from relayflow.api.body_parsing import CheckedRoute

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
REDOC_BUNDLE = "redoc.standalone.js"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


def docs_assets_dir() -> Path:
    return Path(fastapi_offline.__file__).resolve().parent / "static"


@cache
def redoc_bundle() -> bytes:
    return (docs_assets_dir() / REDOC_BUNDLE).read_bytes().replace(REDOC_CDN_LOGO, EMPTY_IMAGE)


def install_api_docs(app: FastAPI) -> None:
    """Serve the docs pages and their assets; create the app with docs_url=redoc_url=None."""
    assert app.openapi_url is not None
    openapi_url = app.openapi_url
    title = app.title
    # Through the checked route class like every other route (one input mechanism).
    pages = APIRouter(route_class=CheckedRoute, include_in_schema=False)

    @pages.get(f"{ASSETS_PATH}/{REDOC_BUNDLE}")
    async def redoc_script() -> Response:
        return Response(
            redoc_bundle(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    def asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_PATH}/{name}"

    @pages.get(DOCS_PATH)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} API",
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon.png"),
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_PATH}",
        )

    @pages.get(OAUTH2_REDIRECT_PATH)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @pages.get(REDOC_PATH)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} API reference",
            redoc_js_url=asset(request, REDOC_BUNDLE),
            redoc_favicon_url=asset(request, "favicon.png"),
            with_google_fonts=False,
        )

    app.include_router(pages)
    # After the bundle's route, so the patched ReDoc script wins over the static file.
    app.mount(ASSETS_PATH, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
