"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import StateDep

router = APIRouter(tags=["health"], route_class=CheckedRoute)


class Readiness(BaseModel):
    status: str
    database: str


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=None,
    responses={
        200: {"model": Readiness, "description": "Ready"},
        503: {"model": Readiness, "description": "The database does not answer"},
    },
)
async def readyz(state: StateDep) -> dict[str, str] | JSONResponse:
    """The database answers."""
    try:
        await state.db.ping()
    except Exception as exc:  # any driver error means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    return {"status": "ok", "database": "ok"}
