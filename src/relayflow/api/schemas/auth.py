"""Accounts: registration, sign-in and the signed-in user."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from relayflow import security
from relayflow.api.schemas.common import UtcDateTime
from relayflow.store.users import EMAIL_MAX_LENGTH, EMAIL_PATTERN, NAME_MAX_LENGTH

Email = Annotated[str, Field(max_length=EMAIL_MAX_LENGTH, examples=["ada@example.com"])]


class RegisterIn(BaseModel):
    email: Email
    password: str = Field(
        min_length=security.MIN_PASSWORD_LENGTH, max_length=security.MAX_PASSWORD_LENGTH
    )
    name: str | None = Field(None, max_length=NAME_MAX_LENGTH)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if not EMAIL_PATTERN.match(value):
            raise ValueError("is not an email address")
        return value


class LoginIn(BaseModel):
    email: Email
    password: str = Field(max_length=security.MAX_PASSWORD_LENGTH)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=security.MAX_PASSWORD_LENGTH)
    new_password: str = Field(
        min_length=security.MIN_PASSWORD_LENGTH, max_length=security.MAX_PASSWORD_LENGTH
    )


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str | None
    role: str
    created_at: UtcDateTime | None


class MeOut(UserOut):
    default_model: str | None = Field(
        None,
        description="The model the editor fills in on a new agent node (`provider:model`).",
        examples=["test:echo"],
    )


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type)
    expires_in: int = Field(description="Seconds until the token expires.")
    user: UserOut
