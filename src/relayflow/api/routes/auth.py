"""Accounts: register, sign in (JSON or the OAuth2 form), and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from relayflow import security
from relayflow.api.auth import CurrentUser, actor_of
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep, StateDep
from relayflow.api.schemas.auth import LoginIn, RegisterIn, TokenOut, UserOut
from relayflow.config import Settings
from relayflow.store import users
from relayflow.store.login_failures import LoginThrottle
from relayflow.store.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=CheckedRoute)


def _token_for(settings: Settings, user: User) -> TokenOut:
    issued = security.issue_access_token(settings, actor_of(user))
    return TokenOut(
        access_token=issued.token,
        expires_in=issued.expires_in,
        user=UserOut.model_validate(user),
    )


@router.post("/register", status_code=201)
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


@router.post("/login")
async def login(body: LoginIn, state: StateDep) -> TokenOut:
    """Exchange an email and password for a bearer token."""
    user = await users.authenticate(
        state.db,
        email=body.email,
        password=body.password,
        throttle=LoginThrottle.from_settings(state.settings),
    )
    return _token_for(state.settings, user)


@router.post("/token")
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], state: StateDep) -> TokenOut:
    """The OAuth2 password flow (form fields `username` = email, `password`)."""
    user = await users.authenticate(
        state.db,
        email=form.username,
        password=form.password,
        throttle=LoginThrottle.from_settings(state.settings),
    )
    return _token_for(state.settings, user)


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
