"""The trigger side of a webhook: its signing secret and its intake switches.

Ownership is checked by `store.webhooks.get_webhook` (the workflow's owner or an
admin; anything else is NotFound). The signing secret itself is never stored:
see `relayflow.signatures` for how it is derived from the salt kept here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import Actor, utcnow
from relayflow.signatures import derive_signing_secret, new_signing_salt
from relayflow.store.models import Webhook
from relayflow.store.webhooks import get_webhook

MAX_RATE_LIMIT_PER_MINUTE = 1_000_000
TRIGGER_SETTINGS = frozenset({"allow_query_key", "rate_limit_per_minute", "require_signature"})


@dataclass(frozen=True)
class IssuedSigningSecret:
    """A new signing secret in the clear: shown to the owner once, then only re-derived."""

    webhook: Webhook
    signing_secret: str


async def issue_signing_secret(
    session: AsyncSession,
    actor: Actor,
    webhook_id: uuid.UUID,
    *,
    server_secret: str,
    require_signature: bool = True,
) -> IssuedSigningSecret:
    """A new secret (the previous one stops working on commit)."""
    webhook = await get_webhook(session, actor, webhook_id)
    webhook.signing_secret_salt = new_signing_salt()
    webhook.require_signature = require_signature
    webhook.updated_at = utcnow()
    await session.flush()
    secret = derive_signing_secret(server_secret, webhook.id, webhook.signing_secret_salt)
    return IssuedSigningSecret(webhook=webhook, signing_secret=secret)


async def remove_signing_secret(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID
) -> Webhook:
    """No secret and no signature requirement any more."""
    webhook = await get_webhook(session, actor, webhook_id)
    webhook.signing_secret_salt = None
    webhook.require_signature = False
    webhook.updated_at = utcnow()
    await session.flush()
    return webhook


async def update_trigger_settings(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID, changes: Mapping[str, Any]
) -> Webhook:
    """Change `allow_query_key`, `rate_limit_per_minute` (None: unlimited), `require_signature`."""
    unknown = set(changes) - TRIGGER_SETTINGS
    if unknown:
        raise errors.InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    webhook = await get_webhook(session, actor, webhook_id)
    if "rate_limit_per_minute" in changes:
        limit = changes["rate_limit_per_minute"]
        if limit is not None and not 1 <= limit <= MAX_RATE_LIMIT_PER_MINUTE:
            raise errors.InvalidInput(
                f"rate_limit_per_minute must be between 1 and {MAX_RATE_LIMIT_PER_MINUTE}, "
                "or null for no limit",
                details=[{"field": "rate_limit_per_minute", "message": "out of range"}],
            )
        webhook.rate_limit_per_minute = limit
    if "allow_query_key" in changes:
        webhook.allow_query_key = bool(changes["allow_query_key"])
    if "require_signature" in changes:
        if changes["require_signature"] and not webhook.signing_secret_salt:
            raise errors.Conflict(
                "require_signature needs a signing secret: "
                f"POST /api/v1/webhooks/{webhook.id}/signing-secret first",
                details=[{"field": "require_signature", "message": "no signing secret"}],
            )
        webhook.require_signature = bool(changes["require_signature"])
    if changes:
        webhook.updated_at = utcnow()
    await session.flush()
    return webhook
