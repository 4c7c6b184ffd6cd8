"""Personal API tokens: issued once in the clear, kept only as a SHA-256 digest.

A token is found by hashing what a caller presents. Revoking deletes the row, so
the very next request with it is refused. Admins see and revoke everyone's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors, security
from relayflow.domain import Actor, TokenScope, utcnow
from relayflow.store.db import Database
from relayflow.store.models import ApiToken, User

# Last use is written at most this often per token, not on every request.
LAST_USE_RESOLUTION = dt.timedelta(seconds=60)
_SCOPE_VALUES = frozenset(s.value for s in TokenScope)


@dataclass(frozen=True)
class IssuedToken:
    """A token row with the token in the clear, the only time it is ever available."""

    row: ApiToken
    token: str


@dataclass(frozen=True)
class TokenHolder:
    """Who a presented token belongs to, and what it may do."""

    user: User
    scopes: frozenset[TokenScope]
    token_id: uuid.UUID


async def create_token(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    name: str,
    scopes: frozenset[TokenScope],
    expires_at: dt.datetime,
    max_per_user: int,
) -> IssuedToken:
    held = await session.scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)
    )
    if (held or 0) >= max_per_user:
        raise errors.Conflict(
            f"an account may hold at most {max_per_user} API tokens "
            "(RELAYFLOW_MAX_API_TOKENS_PER_USER); revoke one first"
        )
    token = security.generate_personal_token()
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=security.hash_api_key(token),
        token_prefix=token[: security.PERSONAL_TOKEN_VISIBLE_CHARS],
        scopes=sorted(s.value for s in scopes),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return IssuedToken(row=row, token=token)


async def list_tokens(session: AsyncSession, actor: Actor, *, everyone: bool) -> list[ApiToken]:
    """The actor's tokens; with `everyone` (admins only), every account's."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if not (everyone and actor.is_admin):
        query = query.where(ApiToken.user_id == actor.user_id)
    return list((await session.scalars(query)).all())


async def revoke_token(session: AsyncSession, actor: Actor, token_id: uuid.UUID) -> None:
    """Delete a token of the actor's (an admin: anyone's); others' answer NotFound."""
    query = delete(ApiToken).where(ApiToken.id == token_id)
    if not actor.is_admin:
        query = query.where(ApiToken.user_id == actor.user_id)
    result = await session.execute(query)
    if getattr(result, "rowcount", 0) == 0:
        raise errors.NotFound(f"API token {token_id} not found")


async def authenticate(db: Database, token: str) -> TokenHolder:
    """The holder of a presented token; `Unauthorized` if it is unknown, revoked or expired.

    Uses its own short transaction, so the last use is recorded even when the
    request itself then fails.
    """
    now = utcnow()
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(ApiToken, User)
                .join(User, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == security.hash_api_key(token))
            )
        ).first()
        if row is None:
            raise errors.Unauthorized("the API token is invalid or has been revoked")
        found, user = row
        if found.expires_at <= now:
            raise errors.Unauthorized(
                f"the API token {found.name!r} expired at {found.expires_at.isoformat()}Z"
            )
        if found.last_used_at is None or now - found.last_used_at >= LAST_USE_RESOLUTION:
            await session.execute(
                update(ApiToken).where(ApiToken.id == found.id).values(last_used_at=now)
            )
        scopes = frozenset(TokenScope(s) for s in found.scopes if s in _SCOPE_VALUES)
        return TokenHolder(user=user, scopes=scopes, token_id=found.id)
