"""Who is calling: the bearer token dependency every signed-in route uses.

A bearer token is either a sign-in token (a JWT from `/auth/login`, may do
everything its account may) or a personal API token (`rfp_...`, stored hashed,
limited to its scopes). Both are read here and nowhere else.

The token says who; the user row says whether they still exist and their
current role, so a deleted account or a demoted admin stops at once.

What a personal token needs to call a route is declared on the route with
`openapi_extra=needs(scope)` (it shows in the OpenAPI document as
`x-token-scope`). A route that declares nothing is a read when it only answers
GET, else closed to personal tokens: a new route fails closed.

A sign-in token carries the account's session generation; changing the password
bumps it, so every sign-in token issued before the change stops working here at
once. Personal API tokens are not tied to the password.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from relayflow import errors, security
from relayflow.api.deps import SessionDep, SettingsDep, StateDep
from relayflow.api.state import AppState
from relayflow.config import Settings
from relayflow.domain import Actor, Role, TokenScope
from relayflow.store import api_tokens, users
from relayflow.store.models import User

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 (a path, not a secret)
SCOPE_KEY = "x-token-scope"
SIGN_IN_ONLY = "sign-in only"  # a route personal tokens may not call (managing tokens)

# auto_error=False: a missing token becomes our own 401 body, not FastAPI's.
bearer_token = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def needs(scope: TokenScope | None) -> dict[str, Any]:
    """A route's `openapi_extra`: the scope a personal token needs (None: sign-in tokens only)."""
    return {SCOPE_KEY: scope.value if scope else SIGN_IN_ONLY}


def required_scope(route: object) -> str:
    """The scope a route declares (or the default for an undeclared one)."""
    extra = getattr(route, "openapi_extra", None) or {}
    declared = extra.get(SCOPE_KEY)
    if isinstance(declared, str):
        return declared
    methods = getattr(route, "methods", None) or set()
    return TokenScope.READ.value if methods and set(methods) <= {"GET", "HEAD"} else SIGN_IN_ONLY


def check_scope(route: object, scopes: frozenset[TokenScope]) -> None:
    needed = required_scope(route)
    if needed == SIGN_IN_ONLY:
        raise errors.Forbidden("this endpoint needs a sign-in token; API tokens cannot call it")
    if needed not in scopes:
        raise errors.Forbidden(f"the API token lacks the scope {needed!r} this endpoint needs")


def token_sign_in(settings: Settings, token: str | None) -> security.SignIn:
    """What a sign-in token says; not yet checked against the account as it is now."""
    if not token:
        raise errors.Unauthorized("sign in first: send an `Authorization: Bearer <token>` header")
    return security.read_sign_in(settings, token)


def token_actor(settings: Settings, token: str | None) -> Actor:
    """Who a sign-in token says the caller is; not yet checked against the account as it is now."""
    return token_sign_in(settings, token).actor


async def resolve_user(state: AppState, session: Any, token: str | None, route: object) -> User:
    """The account behind a bearer token of either kind, its scopes checked against the route."""
    if token and security.is_personal_token(token):
        holder = await api_tokens.authenticate(state.db, token)
        check_scope(route, holder.scopes)
        return holder.user
    sign_in = token_sign_in(state.settings, token)
    user = await users.get_user(session, sign_in.actor.user_id)
    if user is None:
        raise errors.Unauthorized("the access token's account no longer exists")
    if sign_in.session_generation != (user.session_generation or 0):
        raise errors.Unauthorized("the password was changed since this sign-in; sign in again")
    return user


async def sign_in_user(
    request: Request,
    state: StateDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer_token)],
) -> User:
    """The account behind a sign-in token; a personal API token is refused (403)."""
    if token and security.is_personal_token(token):
        raise errors.Forbidden("this endpoint needs a sign-in token; API tokens cannot call it")
    return await resolve_user(state, session, token, request.scope.get("route"))


SignedInUser = Annotated[User, Depends(sign_in_user)]


async def current_user(
    request: Request,
    state: StateDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer_token)],
) -> User:
    return await resolve_user(state, session, token, request.scope.get("route"))


CurrentUser = Annotated[User, Depends(current_user)]


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=Role(user.role or Role.USER.value))


async def current_actor(user: CurrentUser) -> Actor:
    return actor_of(user)


CurrentActor = Annotated[Actor, Depends(current_actor)]


@dataclass(frozen=True)
class Claimed:
    """The caller as their token claims them; `session_generation` is None for a
    personal token (already looked up), else still to check against the account."""

    actor: Actor
    session_generation: int | None

    @property
    def user_id(self) -> uuid.UUID:
        return self.actor.user_id


async def claimed_actor(
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer_token)],
) -> Claimed:
    if token and security.is_personal_token(token):
        holder = await api_tokens.authenticate(state.db, token)
        check_scope(request.scope.get("route"), holder.scopes)
        return Claimed(actor_of(holder.user), None)
    sign_in = token_sign_in(settings, token)
    return Claimed(sign_in.actor, sign_in.session_generation)


# The caller as a sign-in token claims them, without reading their account: for routes
# that read it themselves in the statements they run anyway (starting executions),
# checking the session generation there.
# A personal token is always looked up (it is only a digest until then).
ClaimedActor = Annotated[Claimed, Depends(claimed_actor)]
