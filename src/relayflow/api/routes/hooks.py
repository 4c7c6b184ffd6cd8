"""`POST /hooks/{webhook_id}`: outside systems start a workflow with a webhook's API key.

The key goes in `X-API-Key`, in `Authorization: Bearer <key>`, or (only where the
webhook allows it) in `?api_key=`. Answers: 202 `{execution_id, status_url}` once
the execution is committed; with `?wait=SECONDS`, 200 with the outcome if the run
finishes in time (else still 202). 401 missing/wrong key or bad signature, 403
disabled, 404 unknown webhook, 409 a signature already accepted (a replay), 413
body too large, 415 unreadable content type, 422 input limits or the workflow's
input schema, 429 rate limit (`Retry-After`).
An `Idempotency-Key` header makes retries safe: the same key on the same webhook
within the window answers with the first execution (`Idempotent-Replayed: true`)
if the request (method, path and body) is the same, else 422.
How bodies become input: see `relayflow.api.webhook_body`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from relayflow.api.body_parsing import InputBodyRoute
from relayflow.api.deps import state_of
from relayflow.api.errors import errors_for
from relayflow.api.schemas.webhooks import WebhookAcceptedOut, WebhookOutcomeOut
from relayflow.api.webhook_body import decode_webhook_body
from relayflow.runtime.outcomes import wait_for_final_status
from relayflow.runtime.webhook_intake import WebhookDelivery, WebhookIntake
from relayflow.stored_json import servable

router = APIRouter(tags=["webhooks"], route_class=InputBodyRoute)


def _intake(request: Request) -> WebhookIntake:
    # One per app, made on first use (it caches the server key, owns a database pool).
    intake: WebhookIntake | None = getattr(request.app.state, "webhook_intake", None)
    if intake is None:
        state = state_of(request)
        intake = WebhookIntake(state.db, state.settings)
        state.services.append(intake)  # stopped with the app: closes its pool
        request.app.state.webhook_intake = intake
    return intake


def status_url(request: Request, execution_id: uuid.UUID) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/v1/executions/{execution_id}"


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookOutcomeOut, "description": "The run finished within `wait` seconds"},
    202: {"model": WebhookAcceptedOut, "description": "The run is queued"},
    **errors_for(
        401,
        403,
        404,
        409,
        413,
        415,
        422,
        429,
        503,
        notes={
            503: "The database is unavailable (down, restarting or locked); nothing was "
            "queued: send the delivery again",
            401: "Missing or wrong API key, or a bad signature",
            403: "The webhook is disabled",
            404: "No such webhook",
            409: "This signature was already accepted (a replayed delivery), or the "
            "workflow has no published version",
            422: "The body breaks an input limit or the workflow's input schema, or "
            "the Idempotency-Key was used with a different request",
            429: "Past the webhook's rate limit; see Retry-After",
        },
    ),
}


@router.post("/hooks/{webhook_id}", status_code=202, responses=RESPONSES)
async def receive_webhook(
    webhook_id: str,
    request: Request,
    wait: Annotated[
        float | None,
        Query(ge=0, description="Seconds to wait for the run's outcome (capped)."),
    ] = None,
) -> JSONResponse:
    """Start the webhook's workflow with the request body as input."""
    body = await request.body()

    async def decode() -> Any:
        return await decode_webhook_body(request, body)

    delivery = WebhookDelivery(
        webhook_id=webhook_id,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=request.query_params.multi_items(),
        body=body,
        decode_body=decode,
        content_type=request.headers.get("content-type"),
        method=request.method,
        path=request.url.path,
    )
    intake = _intake(request)
    accepted = await intake.accept(delivery)
    answer: dict[str, Any] = {
        "execution_id": str(accepted.execution_id),
        "status_url": status_url(request, accepted.execution_id),
    }
    headers = {"Location": answer["status_url"]}
    if accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    if wait:
        state = state_of(request)
        final = await wait_for_final_status(
            state.bus, accepted.execution_id, min(wait, state.settings.webhook_max_wait_s)
        )
        if final is not None:
            answer.update(
                status=final.get("status"),
                output=servable(final.get("output")),
                error=final.get("error"),
            )
            return JSONResponse(answer, status_code=200, headers=headers)
    return JSONResponse(answer, status_code=202, headers=headers)
