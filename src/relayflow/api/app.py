"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

from relayflow import __version__
from relayflow.api.body_limit import BodyLimitMiddleware
from relayflow.api.docs import install_api_docs
from relayflow.api.errors import install_error_handlers
from relayflow.api.mcp_tools import MCP_PATH, McpEndpoint
from relayflow.api.openapi import install_contract_document
from relayflow.api.routes import ROUTERS
from relayflow.api.state import AppState
from relayflow.api.web import mount_web_app
from relayflow.config import Settings
from relayflow.runtime.gc_freeze import freeze_startup_objects
from relayflow.runtime.scheduler import Scheduler
from relayflow.runtime.service import runtime_services
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade


def create_app(settings: Settings, *, db: Database | None = None) -> FastAPI:
    """Build the app. Pass `db` to share a database the caller owns (tests, CLI)."""
    settings.signing_secret()  # refuse to start without a usable secret
    mcp_endpoint = McpEndpoint()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_db = db is None
        database = db or Database.from_settings(settings)
        if owns_db and settings.migrate_on_start:
            await upgrade(database)
        state = AppState(settings=settings, db=database)
        if settings.embedded_worker:
            state.services.extend(
                runtime_services(settings, database, state.bus, metrics=state.metrics)
            )
        if settings.scheduler_enabled:
            state.services.append(Scheduler.from_settings(settings, database))
        app.state.relayflow = state
        await state.start()
        if owns_db:  # a server process of its own (tests share their database)
            freeze_startup_objects()
        try:
            async with mcp_endpoint.running(state):
                yield
        finally:
            await state.stop()
            if owns_db:
                await database.dispose()

    app = FastAPI(
        title="relayflow",
        version=__version__,
        description="Durable multi-agent AI workflows.",
        lifespan=lifespan,
        docs_url=None,  # offline pages instead of the CDN-loaded defaults (api/docs.py)
        redoc_url=None,
    )
    install_error_handlers(app)
    install_contract_document(app)
    install_api_docs(app)
    for router in ROUTERS:
        # The routers' own routes, built once at import, rather than `include_router`:
        # FastAPI rebuilds an included router's routes lazily in every app (about 0.13 s
        # of CPU on the first requests of each app, and a detour on every match). The
        # routers carry their prefixes, tags and dependencies themselves: the app serves
        # the same routes and the same OpenAPI document either way.
        app.router.routes.extend(router.routes)
    # Workflows as MCP tools (api/mcp_tools.py); MCP checks its own messages.
    app.router.routes.append(Route(MCP_PATH, mcp_endpoint, methods=["GET", "POST", "DELETE"]))
    mount_web_app(app, settings)  # last: its catch-all must not shadow API routes
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app
