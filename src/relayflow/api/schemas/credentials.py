"""Credentials: secrets stored once and used by reference; values are write-only."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from relayflow.api.schemas.common import UtcDateTime
from relayflow.credential_kinds import CredentialKind
from relayflow.domain import Actor
from relayflow.store.models import Credential

Setting = Annotated[str, Field(max_length=2000)]
Value = Annotated[str, Field(min_length=1, max_length=16_384)]


class CredentialSettings(BaseModel):
    base_url: Setting | None = Field(None, description="Provider kinds: the API's base URL.")
    username: Setting | None = Field(None, description="`http_basic`: the user name.")
    header: Setting | None = Field(None, description="`http_header`: the header's name.")
    param: Setting | None = Field(None, description="`http_query`: the query parameter.")

    def given(self) -> dict[str, str]:
        """The settings fields that were sent (others stay as they are)."""
        fields = CredentialSettings.model_fields
        return {k: v for k in fields if (v := getattr(self, k)) is not None}


class CredentialIn(CredentialSettings):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    kind: CredentialKind
    value: Value | None = Field(
        None,
        description="The secret (API key, token, password). Stored encrypted; never returned.",
    )
    shared: bool = Field(False, description="Admins: usable by everyone (read-only to them).")


class CredentialPatch(CredentialSettings):
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    value: Value | None = Field(None, description="A new secret replacing the stored one.")


class Usage(BaseModel):
    workflow_id: uuid.UUID | None = None
    workflow_name: str | None = None
    node_id: str | None = None
    field: str | None = None
    template_id: uuid.UUID | None = None
    template_name: str | None = None


class CredentialOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: CredentialKind
    settings: dict[str, str] = Field(description="What is not secret: base URL, user name...")
    value_hint: str = Field(description="The value masked (its last 4 characters at most).")
    has_value: bool
    shared: bool
    owned: bool = Field(description="Yours to change (admins: every credential).")
    created_at: UtcDateTime
    updated_at: UtcDateTime
    used_by: list[Usage] | None = Field(
        None, description="Where your workflows and templates reference it (one credential)."
    )

    @classmethod
    def of(cls, row: Credential, actor: Actor, used_by: list[Usage] | None = None) -> CredentialOut:
        return cls(
            id=row.id,
            name=row.name,
            kind=CredentialKind(row.kind),
            settings=dict(row.config),
            value_hint=row.hint,
            has_value=bool(row.hint),
            shared=row.is_shared,
            owned=actor.is_admin or row.user_id == actor.user_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            used_by=used_by,
        )


class CheckOut(BaseModel):
    """Whether a credential's provider took it; `message` never carries the secret."""

    ok: bool
    message: str
