"""Personal API tokens: named, scoped, expiring; the token itself is shown once."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from relayflow.api.schemas.common import UtcDateTime
from relayflow.domain import TokenScope, expand_scopes
from relayflow.store.models import ApiToken

SCOPES_HELP = (
    "Any of: read; run:start, run:cancel, run:approve (or `run` for all three); "
    "write:workflows, write:webhooks, write:schedules, write:credentials (or `write`)."
)


class TokenIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    scopes: list[Annotated[str, Field(max_length=40)]] = Field(
        min_length=1, max_length=20, description=SCOPES_HELP, examples=[["read", "run"]]
    )
    expires_in_days: int | None = Field(
        None, ge=1, description="Days until it expires (the server's default when left out)."
    )

    @field_validator("scopes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return sorted(s.value for s in expand_scopes(value))


class TokenOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it.")
    scopes: list[TokenScope]
    expires_at: UtcDateTime
    last_used_at: UtcDateTime | None
    created_at: UtcDateTime

    @classmethod
    def of(cls, row: ApiToken) -> TokenOut:
        return cls(
            id=row.id,
            user_id=row.user_id,
            name=row.name,
            prefix=row.token_prefix,
            scopes=[TokenScope(s) for s in row.scopes],
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            created_at=row.created_at,
        )


class TokenWithSecret(TokenOut):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; shown only now.")
