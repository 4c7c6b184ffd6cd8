"""Personal API tokens: create (shown once), list, revoke. Admins see and revoke any.

Managing tokens needs a sign-in token: an API token cannot mint or revoke tokens.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from relayflow import errors
from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep
from relayflow.api.errors import errors_for
from relayflow.api.schemas.tokens import TokenIn, TokenOut, TokenWithSecret
from relayflow.domain import TokenScope, utcnow
from relayflow.store import api_tokens

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], route_class=CheckedRoute)
SIGN_IN_ONLY = needs(None)
FORBIDDEN = {403: "Called with an API token (tokens are managed with a sign-in token)"}


@router.post(
    "",
    status_code=201,
    openapi_extra=SIGN_IN_ONLY,
    responses=errors_for(
        401, 403, 409, 422, notes={**FORBIDDEN, 409: "The account holds the most tokens allowed"}
    ),
)
async def create_token(
    body: TokenIn, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> TokenWithSecret:
    """The answer holds the token; it is never shown again."""
    days = body.expires_in_days or settings.api_token_default_days
    if days > settings.api_token_max_days:
        raise errors.InvalidInput(
            f"expires_in_days: at most {settings.api_token_max_days} "
            "(RELAYFLOW_API_TOKEN_MAX_DAYS)",
            details=[{"field": "expires_in_days", "message": "too long"}],
        )
    issued = await api_tokens.create_token(
        session,
        actor.user_id,
        name=body.name,
        scopes=frozenset(TokenScope(s) for s in body.scopes),
        expires_at=utcnow() + dt.timedelta(days=days),
        max_per_user=settings.max_api_tokens_per_user,
    )
    return TokenWithSecret(**TokenOut.of(issued.row).model_dump(), token=issued.token)


@router.get("", openapi_extra=SIGN_IN_ONLY, responses=errors_for(401, 403, 422, notes=FORBIDDEN))
async def list_tokens(
    session: SessionDep,
    actor: CurrentActor,
    everyone: Annotated[
        bool, Query(description="Admins: every account's tokens, not only your own.")
    ] = False,
) -> list[TokenOut]:
    """Your tokens (never the tokens themselves), newest first."""
    return [TokenOut.of(t) for t in await api_tokens.list_tokens(session, actor, everyone=everyone)]


@router.delete(
    "/{token_id:uuid}",
    status_code=204,
    openapi_extra=SIGN_IN_ONLY,
    responses=errors_for(
        401, 403, 404, 422, notes={**FORBIDDEN, 404: "No such token (or not yours)"}
    ),
)
async def revoke_token(token_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> None:
    """The token stops working at once."""
    await api_tokens.revoke_token(session, actor, token_id)
