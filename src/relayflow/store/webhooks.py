"""Webhooks of a workflow: API keys shown once, stored only as a SHA-256 digest.

Only the workflow's owner (or an admin) manages its webhooks. The `api_key`
column holds the digest, so a key is found by hashing what a caller presents.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors, security
from relayflow.domain import Actor, utcnow
from relayflow.store.models import Webhook, Workflow
from relayflow.store.pagination import DEFAULT_LIMIT, Page, newest_first
from relayflow.store.workflows import can_change, get_workflow_to_change

NOT_YOURS = "only the workflow's owner can manage its webhooks"


@dataclass(frozen=True)
class IssuedWebhook:
    """A webhook with its API key in the clear, the only time the key is ever available."""

    webhook: Webhook
    api_key: str


def _new_key(webhook: Webhook) -> str:
    api_key = security.generate_api_key()
    webhook.api_key = security.hash_api_key(api_key)
    webhook.key_prefix = security.api_key_prefix(api_key)
    return api_key


async def get_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> Webhook:
    """A webhook whose workflow the actor may change; anything else is NotFound."""
    row = (
        await session.execute(
            select(Webhook, Workflow)
            .join(Workflow, Webhook.workflow_id == Workflow.id)
            .where(Webhook.id == webhook_id)
        )
    ).first()
    if row is None or not can_change(actor, row[1]):
        raise errors.NotFound(f"webhook {webhook_id} not found")
    return row[0]


async def webhook_for_key(session: AsyncSession, api_key: str) -> Webhook | None:
    """The webhook this API key belongs to (enabled or not), looked up by its digest."""
    return await session.scalar(
        select(Webhook).where(Webhook.api_key == security.hash_api_key(api_key))
    )


async def create_webhook(
    session: AsyncSession, actor: Actor, workflow_id: uuid.UUID, *, name: str | None = None
) -> IssuedWebhook:
    await get_workflow_to_change(session, actor, workflow_id, refusal=NOT_YOURS)
    webhook = Webhook(workflow_id=workflow_id, name=name, enabled=True)
    api_key = _new_key(webhook)
    session.add(webhook)
    await session.flush()
    await session.refresh(webhook)
    return IssuedWebhook(webhook=webhook, api_key=api_key)


async def list_webhooks(
    session: AsyncSession,
    actor: Actor,
    workflow_id: uuid.UUID,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Webhook]:
    await get_workflow_to_change(session, actor, workflow_id, refusal=NOT_YOURS)
    return await newest_first(
        session,
        select(Webhook).where(Webhook.workflow_id == workflow_id),
        created_at=Webhook.created_at,
        row_id=Webhook.id,
        limit=limit,
        cursor=cursor,
    )


async def update_webhook(
    session: AsyncSession,
    actor: Actor,
    webhook_id: uuid.UUID,
    *,
    enabled: bool | None = None,
    name: str | None = None,
    clear_name: bool = False,
) -> Webhook:
    webhook = await get_webhook(session, actor, webhook_id)
    if enabled is not None:
        webhook.enabled = enabled
    if name is not None or clear_name:
        webhook.name = name
    await session.flush()
    await session.refresh(webhook)
    return webhook


async def rotate_webhook_key(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID
) -> IssuedWebhook:
    """A new key for the webhook; the old one stops working when this commits."""
    webhook = await get_webhook(session, actor, webhook_id)
    api_key = _new_key(webhook)
    webhook.updated_at = utcnow()
    await session.flush()
    await session.refresh(webhook)
    return IssuedWebhook(webhook=webhook, api_key=api_key)


async def delete_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> None:
    webhook = await get_webhook(session, actor, webhook_id)
    await session.delete(webhook)
    await session.flush()
