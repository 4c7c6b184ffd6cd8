"""Serves the web app's production build at `/`, with a fallback to index.html.

The build is found in `RELAYFLOW_WEB_DIST` when set, else inside the installed package
(`relayflow/webapp/`, put there by the wheel's build hook, `hatch_build.py`), else in a
checkout's `web/dist` (an editable install, `make run`).

The single-page app routes in the browser, so any GET of a non-API path that is not a
file in the build answers with index.html. API paths are never shadowed: a route here
declines them, so unknown API paths still get the API's own 404 and wrong methods 405.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from relayflow.config import Settings

# Paths that belong to the API (or its docs and probes), never to the web app.
API_PREFIXES = ("/api/", "/hooks/", "/docs", "/redoc")
API_PATHS = frozenset({"/api", "/hooks", "/healthz", "/readyz", "/metrics", "/openapi.json"})

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>relayflow</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>relayflow is running</h1>
<p>The API is at <a href="/docs">/docs</a>. The web app has not been built yet:
in a checkout run <code>make web</code> (or <code>npm ci &amp;&amp; npm run build</code>
in <code>web/</code>), or set <code>RELAYFLOW_WEB_DIST</code> to a built copy, then
reload this page. An installed wheel carries the web app inside it.</p>
</body></html>
"""


PACKAGED_WEB_DIST = Path(__file__).resolve().parents[1] / "webapp"
CHECKOUT_WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


def default_web_dist() -> Path:
    """The build shipped in the wheel, else the checkout's (src/relayflow/api/web.py)."""
    if (PACKAGED_WEB_DIST / "index.html").is_file():
        return PACKAGED_WEB_DIST
    return CHECKOUT_WEB_DIST


def is_api_path(path: str) -> bool:
    return path in API_PATHS or path.startswith(API_PREFIXES)


class WebAppRoute(Route):
    """A GET/HEAD catch-all that declines API paths and other methods."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return Match.NONE, {}
        if is_api_path(scope["path"]):
            return Match.NONE, {}
        return super().matches(scope)


class WebApp:
    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()

    async def serve(self, request: Request) -> Response:
        index = self.dist / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT_PAGE)
        relative = request.path_params.get("path", "")
        candidate = (self.dist / relative).resolve()
        # Only files inside the build; `..` and symlinks out of it fall through.
        if relative and candidate.is_relative_to(self.dist) and candidate.is_file():
            return FileResponse(candidate, headers=cache_headers(relative))
        if "." in relative.rsplit("/", 1)[-1]:
            raise HTTPException(404, f"no file {relative!r} in the web app")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def cache_headers(relative: str) -> dict[str, str]:
    # Vite fingerprints everything under assets/, so those never change.
    if relative.startswith("assets/"):
        return {"Cache-Control": "public, max-age=31536000, immutable"}
    return {"Cache-Control": "no-cache"}


def mount_web_app(app: FastAPI, settings: Settings) -> None:
    """Add the web app's catch-all route; call it after every API router is included."""
    dist = settings.web_dist or default_web_dist()
    app.router.routes.append(
        WebAppRoute(
            "/{path:path}", WebApp(dist).serve, methods=["GET", "HEAD"], include_in_schema=False
        )
    )
