"""`GET /metrics`: Prometheus text format, without authentication (like the probes).

The installation-wide gauges (executions by status, queue depth) are read from
the database on each scrape; the rest are this process's own figures, see
`relayflow.runtime.metrics`.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import StateDep
from relayflow.runtime.metrics import CONTENT_TYPE, process_metrics

router = APIRouter(tags=["health"], route_class=CheckedRoute)
log = logging.getLogger(__name__)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
async def metrics(state: StateDep) -> Response:
    """Executions by status, queue depth, claim latency, node durations, provider requests
    and errors, tokens."""
    figures = process_metrics()
    try:
        await figures.refresh_from_database(state.db)
    except Exception as exc:  # still serve this process's figures; the gauges go stale
        log.warning("metrics: could not read the database: %s", exc)
    return Response(figures.render(), media_type=CONTENT_TYPE)
