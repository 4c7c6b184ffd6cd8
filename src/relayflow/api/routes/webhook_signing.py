"""A webhook's HMAC signing secret: create or rotate it (shown once), or remove it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep
from relayflow.api.errors import errors_for
from relayflow.domain import TokenScope
from relayflow.signatures import DEFAULT_TOLERANCE_S
from relayflow.store import webhook_triggers

router = APIRouter(
    prefix="/api/v1/webhooks/{webhook_id:uuid}/signing-secret",
    tags=["webhooks"],
    route_class=CheckedRoute,
)


class SigningSecretIn(BaseModel):
    require_signature: StrictBool = Field(
        True, description="Refuse deliveries without a valid signature (401)."
    )


class SigningSecretOut(BaseModel):
    webhook_id: uuid.UUID
    signing_secret: str = Field(description="Shown only in this answer: store it now.")
    require_signature: bool
    signature_header: str = "X-Relayflow-Signature"
    timestamp_header: str = "X-Relayflow-Timestamp"
    scheme: str = Field(
        "sha256=hex(HMAC-SHA256(signing_secret, f'{timestamp}.{body}'))",
        description="What the signature header carries; the timestamp is Unix seconds.",
    )
    tolerance_s: int = DEFAULT_TOLERANCE_S


@router.post(
    "",
    openapi_extra=needs(TokenScope.WRITE_WEBHOOKS),
    status_code=201,
    responses=errors_for(401, 404, 422),
)
async def issue_signing_secret(
    webhook_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    body: SigningSecretIn | None = None,
) -> SigningSecretOut:
    """A new signing secret; the previous one (if any) stops working."""
    issued = await webhook_triggers.issue_signing_secret(
        session,
        actor,
        webhook_id,
        server_secret=settings.signing_secret(),
        require_signature=body.require_signature if body else True,
    )
    return SigningSecretOut(
        webhook_id=issued.webhook.id,
        signing_secret=issued.signing_secret,
        require_signature=issued.webhook.require_signature,
        tolerance_s=int(settings.webhook_signature_tolerance_s),
    )


@router.delete(
    "",
    openapi_extra=needs(TokenScope.WRITE_WEBHOOKS),
    status_code=204,
    responses=errors_for(401, 404, 422),
)
async def remove_signing_secret(
    webhook_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> None:
    """Stop signing: deliveries are then checked by their API key only."""
    await webhook_triggers.remove_signing_secret(session, actor, webhook_id)
