"""A workflow's webhooks: create (key shown once), list, enable/disable, rotate, delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from relayflow.api.auth import CurrentActor
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep
from relayflow.api.pagination import PageDep
from relayflow.api.schemas.common import PageOut
from relayflow.api.schemas.webhooks import WebhookIn, WebhookOut, WebhookPatch, WebhookWithKey
from relayflow.store import webhook_triggers, webhooks

router = APIRouter(prefix="/api/v1", tags=["webhooks"], route_class=CheckedRoute)


@router.post("/workflows/{workflow_id}/webhooks", status_code=201)
async def create_webhook(
    workflow_id: uuid.UUID,
    body: WebhookIn,
    session: SessionDep,
    actor: CurrentActor,
    request: Request,
) -> WebhookWithKey:
    """The answer holds the API key; it is never shown again."""
    issued = await webhooks.create_webhook(session, actor, workflow_id, name=body.name)
    return WebhookWithKey.issued(issued.webhook, issued.api_key, base_url=str(request.base_url))


@router.get("/workflows/{workflow_id}/webhooks")
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
    return PageOut(
        items=[WebhookOut.of(w, base_url=base_url) for w in found.items],
        next_cursor=found.next_cursor,
    )


@router.patch("/webhooks/{webhook_id}")
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
    return WebhookOut.of(webhook, base_url=str(request.base_url))


@router.post("/webhooks/{webhook_id}/rotate")
async def rotate_webhook_key(
    webhook_id: uuid.UUID, session: SessionDep, actor: CurrentActor, request: Request
) -> WebhookWithKey:
    """A new API key, shown once; the old key stops working."""
    issued = await webhooks.rotate_webhook_key(session, actor, webhook_id)
    return WebhookWithKey.issued(issued.webhook, issued.api_key, base_url=str(request.base_url))


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> None:
    await webhooks.delete_webhook(session, actor, webhook_id)
