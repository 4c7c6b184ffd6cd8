"""`GET /metrics`: Prometheus text format.

Open like the probes unless `RELAYFLOW_METRICS_TOKEN` is set; then a scrape must
send `Authorization: Bearer <token>` (compared in constant time; 401 otherwise).

The installation-wide gauges (executions by status, queue depth) are read from
the database at most once per `RELAYFLOW_METRICS_REFRESH_S` (10 s): counting by
status reads the whole history, and anyone may scrape while no token is set. The
rest are this app's own figures (its embedded worker's), see
`relayflow.runtime.metrics`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from fastapi import APIRouter, Request, Response

from relayflow import errors
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import StateDep
from relayflow.api.errors import errors_for
from relayflow.config import Settings
from relayflow.runtime.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"], route_class=CheckedRoute)
log = logging.getLogger(__name__)


def check_metrics_token(settings: Settings, authorization: str | None) -> None:
    if settings.metrics_token is None:
        return
    expected = hashlib.sha256(settings.metrics_token.get_secret_value().encode()).digest()
    scheme, _, presented = (authorization or "").partition(" ")
    # Digests of equal length, compared even for a missing header: nothing to time.
    matches = hmac.compare_digest(hashlib.sha256(presented.strip().encode()).digest(), expected)
    if scheme.lower() != "bearer" or not matches:
        raise errors.Unauthorized(
            "GET /metrics needs Authorization: Bearer <the RELAYFLOW_METRICS_TOKEN value>"
        )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"},
        **errors_for(401, notes={401: "A metrics token is set and this request did not send it"}),
    },
)
async def metrics(state: StateDep, request: Request) -> Response:
    """Executions by status, queue depth, claim latency, node durations, provider requests
    and errors, tokens. Needs `Authorization: Bearer <token>` when a metrics token is set."""
    check_metrics_token(state.settings, request.headers.get("authorization"))
    figures = state.metrics
    try:
        await figures.refresh_from_database(state.db, max_age_s=state.settings.metrics_refresh_s)
    except Exception as exc:  # still serve this process's figures; the gauges go stale
        log.warning("metrics: could not read the database: %s", exc)
    return Response(figures.render(), media_type=CONTENT_TYPE)
