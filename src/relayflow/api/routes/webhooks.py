"""A workflow's webhooks: create (key shown once), list, enable/disable, rotate, delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep
from relayflow.api.errors import errors_for
from relayflow.api.pagination import PageDep
from relayflow.api.schemas.common import PageOut
from relayflow.api.schemas.webhooks import WebhookIn, WebhookOut, WebhookPatch, WebhookWithKey
from relayflow.api.webhook_curl import webhook_input_schema
from relayflow.domain import TokenScope
from relayflow.store import webhook_triggers, webhooks

router = APIRouter(prefix="/api/v1", tags=["webhooks"], route_class=CheckedRoute)
OF_WORKFLOW = "/workflows/{workflow_id:uuid}/webhooks"
ONE = "/webhooks/{webhook_id:uuid}"
NOT_OWNER = {403: "Not the workflow's owner (a public workflow's webhooks are not yours)"}


@router.post(
    OF_WORKFLOW,
    openapi_extra=needs(TokenScope.WRITE_WEBHOOKS),
    status_code=201,
    responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER),
)
async def create_webhook(
    workflow_id: uuid.UUID,
    body: WebhookIn,
    session: SessionDep,
    actor: CurrentActor,
    request: Request,
) -> WebhookWithKey:
    """The answer holds the API key; it is never shown again."""
    issued = await webhooks.create_webhook(session, actor, workflow_id, name=body.name)
    return WebhookWithKey.issued(
        issued.webhook,
        issued.api_key,
        base_url=str(request.base_url),
        schema=await webhook_input_schema(session, workflow_id),
    )


@router.get(OF_WORKFLOW, responses=errors_for(401, 403, 404, 422, notes=NOT_OWNER))
async def list_webhooks(
    workflow_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    request: Request,
) -> PageOut[WebhookOut]:
    found = await webhooks.list_webhooks(
        session, actor, workflow_id, limit=page.limit, cursor=page.cursor
    )
    base_url = str(request.base_url)
    schema = await webhook_input_schema(session, workflow_id)
    return PageOut(
        items=[WebhookOut.of(w, base_url=base_url, schema=schema) for w in found.items],
        next_cursor=found.next_cursor,
    )


@router.patch(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WEBHOOKS),
    responses=errors_for(
        401, 404, 409, 422, notes={409: "`require_signature` needs a signing secret first"}
    ),
)
async def change_webhook(
    webhook_id: uuid.UUID,
    body: WebhookPatch,
    session: SessionDep,
    actor: CurrentActor,
    request: Request,
) -> WebhookOut:
    webhook = await webhooks.update_webhook(
        session,
        actor,
        webhook_id,
        enabled=body.enabled,
        name=body.name,
        clear_name="name" in body.model_fields_set and body.name is None,
    )
    trigger_changes = body.model_dump(
        include=set(webhook_triggers.TRIGGER_SETTINGS), exclude_unset=True
    )
    if trigger_changes:
        webhook = await webhook_triggers.update_trigger_settings(
            session, actor, webhook_id, trigger_changes
        )
    return WebhookOut.of(
        webhook,
        base_url=str(request.base_url),
        schema=await webhook_input_schema(session, webhook.workflow_id),
    )


@router.post(
    ONE + "/rotate",
    openapi_extra=needs(TokenScope.WRITE_WEBHOOKS),
    responses=errors_for(401, 404, 422),
)
async def rotate_webhook_key(
    webhook_id: uuid.UUID, session: SessionDep, actor: CurrentActor, request: Request
) -> WebhookWithKey:
    """A new API key, shown once; the old key stops working."""
    issued = await webhooks.rotate_webhook_key(session, actor, webhook_id)
    return WebhookWithKey.issued(
        issued.webhook,
        issued.api_key,
        base_url=str(request.base_url),
        schema=await webhook_input_schema(session, issued.webhook.workflow_id),
    )


@router.delete(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WEBHOOKS),
    status_code=204,
    responses=errors_for(401, 404, 422),
)
async def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> None:
    await webhooks.delete_webhook(session, actor, webhook_id)
