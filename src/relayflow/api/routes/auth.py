"""Accounts: register, sign in (JSON or the OAuth2 form), who am I, change my password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from relayflow import security
from relayflow.api.auth import CurrentUser, SignedInUser, actor_of, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep, StateDep
from relayflow.api.errors import errors_for
from relayflow.api.schemas.auth import (
    LoginIn,
    MeOut,
    PasswordChangeIn,
    RegisterIn,
    TokenOut,
    UserOut,
)
from relayflow.api.state import AppState
from relayflow.config import Settings
from relayflow.store import users
from relayflow.store.login_failures import LoginThrottle
from relayflow.store.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=CheckedRoute)
SIGN_IN = {
    401: "Wrong email or password",
    429: "Too many failed sign-ins for this email or address; see Retry-After",
}


def _token_for(settings: Settings, user: User, generation: int | None = None) -> TokenOut:
    issued = security.issue_access_token(
        settings,
        actor_of(user),
        session_generation=user.session_generation or 0 if generation is None else generation,
    )
    return TokenOut(
        access_token=issued.token,
        expires_in=issued.expires_in,
        user=UserOut.model_validate(user),
    )


@router.post(
    "/register",
    status_code=201,
    responses=errors_for(
        403,
        409,
        422,
        notes={403: "Self-registration is switched off", 409: "The email is already registered"},
    ),
)
async def register(body: RegisterIn, session: SessionDep, settings: SettingsDep) -> UserOut:
    """Create an account. The first account becomes an admin."""
    user = await users.register_user(
        session,
        email=body.email,
        password=body.password,
        name=body.name,
        allow_registration=settings.allow_registration,
        with_demo=settings.demo_workflow,
    )
    return UserOut.model_validate(user)


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (behind a trusted proxy: the
    forwarded one, see uvicorn's `--forwarded-allow-ips`)."""
    return request.client.host if request.client else None


async def _sign_in(state: AppState, request: Request, email: str, password: str) -> TokenOut:
    user = await users.authenticate(
        state.db,
        email=email,
        password=password,
        throttle=LoginThrottle.from_settings(state.settings),
        client_address=client_address(request),
    )
    return _token_for(state.settings, user)


@router.post("/login", responses=errors_for(401, 422, 429, notes=SIGN_IN))
async def login(body: LoginIn, request: Request, state: StateDep) -> TokenOut:
    """Exchange an email and password for a bearer token."""
    return await _sign_in(state, request, body.email, body.password)


@router.post("/token", responses=errors_for(401, 422, 429, notes=SIGN_IN))
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, state: StateDep
) -> TokenOut:
    """The OAuth2 password flow (form fields `username` = email, `password`)."""
    return await _sign_in(state, request, form.username, form.password)


@router.get("/me", responses=errors_for(401))
async def me(user: CurrentUser, settings: SettingsDep) -> MeOut:
    """The signed-in user, and the server's default model for new agent nodes."""
    out = MeOut.model_validate(user)
    out.default_model = settings.default_model
    return out


@router.post(
    "/password",
    openapi_extra=needs(None),
    responses=errors_for(
        401,
        403,
        422,
        429,
        notes={
            403: "The current password is wrong (`wrong_password`), or an API token was used",
            422: "The new password breaks the password rules",
            429: "Too many wrong passwords for this account or address; see Retry-After",
        },
    ),
)
async def change_password(
    body: PasswordChangeIn, request: Request, user: SignedInUser, state: StateDep
) -> TokenOut:
    """Change your password. Every sign-in token issued before stops working at once
    (other browsers are signed out); the answer carries a fresh token for this one.
    Personal API tokens keep working."""
    generation = await users.change_password(
        state.db,
        user,
        current_password=body.current_password,
        new_password=body.new_password,
        throttle=LoginThrottle.from_settings(state.settings),
        client_address=client_address(request),
    )
    return _token_for(state.settings, user, generation)
