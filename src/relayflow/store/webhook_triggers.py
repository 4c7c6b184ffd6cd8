"""The trigger side of a webhook: its signing secret and its intake switches.

Ownership is checked by `store.webhooks.get_webhook` (the workflow's owner or an
admin; anything else is NotFound). The signing secret itself is never stored:
see `relayflow.signatures` for how it is derived from the salt kept here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import Actor, utcnow
from relayflow.signatures import derive_signing_secret, new_signing_salt
from relayflow.store.db import Database
from relayflow.store.models import Webhook, Workflow
from relayflow.store.webhooks import get_webhook

MAX_RATE_LIMIT_PER_MINUTE = 1_000_000
TRIGGER_SETTINGS = frozenset({"allow_query_key", "rate_limit_per_minute", "require_signature"})


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook as the intake sees it; the graph is loaded only if the key matched."""

    id: uuid.UUID
    workflow_id: uuid.UUID
    api_key_digest: str
    enabled: bool
    allow_query_key: bool
    require_signature: bool
    signing_secret_salt: str | None
    rate_limit_per_minute: int | None
    owner_id: uuid.UUID | None
    nodes: list[Any] | None
    edges: list[Any] | None

    def workflow(self) -> Workflow:
        """The workflow to start, detached (what `create_pending_execution` reads)."""
        return Workflow(
            id=self.workflow_id,
            user_id=self.owner_id,
            nodes=self.nodes or [],
            edges=self.edges or [],
        )


@asynccontextmanager
async def autocommit_session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session whose statements each commit on their own, with no BEGIN/COMMIT trips.

    For the intake's common case, a read then one INSERT: the INSERT is durable
    when it returns. Anything that must be atomic uses a normal transaction.
    """
    async with db.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        async with AsyncSession(bind=autocommit, expire_on_commit=False) as session:
            yield session


_webhooks = cast(Table, Webhook.__table__)
_workflows = cast(Table, Workflow.__table__)


async def load_webhook_target(
    session: AsyncSession, webhook_id: uuid.UUID, key_digest: str
) -> WebhookTarget | None:
    """One query for a delivery: the webhook, its owner, and the graph if the key is right.

    Leaving the graph out for a wrong key keeps that answer as cheap as the one for
    an unknown webhook. The caller still decides with a constant-time comparison.
    """
    w, f = _webhooks, _workflows
    key_matches = w.c.api_key == key_digest
    row = (
        await session.execute(
            select(
                w.c.id,
                w.c.workflow_id,
                w.c.api_key,
                w.c.enabled,
                w.c.allow_query_key,
                w.c.require_signature,
                w.c.signing_secret_salt,
                w.c.rate_limit_per_minute,
                f.c.user_id,
                case((key_matches, f.c.nodes)).label("nodes"),
                case((key_matches, f.c.edges)).label("edges"),
            )
            .select_from(w.join(f, f.c.id == w.c.workflow_id))
            .where(w.c.id == webhook_id)
        )
    ).first()
    if row is None:
        return None
    return WebhookTarget(
        id=row.id,
        workflow_id=row.workflow_id,
        api_key_digest=row.api_key,
        enabled=bool(row.enabled),
        allow_query_key=bool(row.allow_query_key),
        require_signature=bool(row.require_signature),
        signing_secret_salt=row.signing_secret_salt,
        rate_limit_per_minute=row.rate_limit_per_minute,
        owner_id=row.user_id,
        nodes=row.nodes,
        edges=row.edges,
    )


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
