"""Who is calling: the bearer token dependency every signed-in route uses.

The token says who; the user row says whether they still exist and their
current role, so a deleted account or a demoted admin stops at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from relayflow import errors, security
from relayflow.api.deps import SessionDep, SettingsDep
from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.store import users
from relayflow.store.models import User

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 (a path, not a secret)

# auto_error=False: a missing token becomes our own 401 body, not FastAPI's.
bearer_token = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def token_actor(settings: Settings, token: str | None) -> Actor:
    """Who the token says the caller is; not yet checked against the account as it is now."""
    if not token:
        raise errors.Unauthorized("sign in first: send an `Authorization: Bearer <token>` header")
    return security.read_access_token(settings, token)


async def current_user(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer_token)],
) -> User:
    actor = token_actor(settings, token)
    user = await users.get_user(session, actor.user_id)
    if user is None:
        raise errors.Unauthorized("the access token's account no longer exists")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=Role(user.role or Role.USER.value))


async def current_actor(user: CurrentUser) -> Actor:
    return actor_of(user)


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def claimed_actor(
    settings: SettingsDep, token: Annotated[str | None, Depends(bearer_token)]
) -> Actor:
    return token_actor(settings, token)


# The caller as the token claims them, without reading their account: for routes
# that read it themselves in the statements they run anyway (starting executions).
ClaimedActor = Annotated[Actor, Depends(claimed_actor)]
