"""Credentials: create, list, read (never the value), replace, delete, where used.

A credential is yours, or shared by an admin with everyone. Others' ids answer
404 like unknown ones; a shared one is readable by all, changeable by admins.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep, StateDep
from relayflow.api.errors import errors_for
from relayflow.api.schemas.credentials import (
    CheckOut,
    CredentialIn,
    CredentialOut,
    CredentialPatch,
    Usage,
)
from relayflow.credential_check import check_connection
from relayflow.domain import TokenScope
from relayflow.store import credentials

router = APIRouter(prefix="/api/v1/credentials", tags=["credentials"], route_class=CheckedRoute)
ONE = "/{credential_id:uuid}"
WRITE = needs(TokenScope.WRITE_CREDENTIALS)
NOT_YOURS = {404: "No such credential (or not yours)", 403: "A shared one: admins only"}


@router.post(
    "",
    status_code=201,
    openapi_extra=WRITE,
    responses=errors_for(
        401, 403, 409, 422, notes={403: "Only admins share", 409: "The most credentials allowed"}
    ),
)
async def create_credential(
    body: CredentialIn,
    session: SessionDep,
    state: StateDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> CredentialOut:
    """The value is stored encrypted and never shown again (only masked)."""
    row = await credentials.create_credential(
        session,
        state.vault,
        actor,
        name=body.name,
        kind=body.kind,
        value=body.value,
        settings=body.given(),
        shared=body.shared,
        max_per_user=settings.max_credentials_per_user,
    )
    return CredentialOut.of(row, actor)


@router.get("", responses=errors_for(401, 422))
async def list_credentials(
    session: SessionDep,
    actor: CurrentActor,
    everyone: Annotated[bool, Query(description="Admins: every account's.")] = False,
) -> list[CredentialOut]:
    """Yours and the shared ones, by name."""
    rows = await credentials.list_credentials(session, actor, everyone=everyone)
    return [CredentialOut.of(row, actor) for row in rows]


@router.get(ONE, responses=errors_for(401, 404, 422, notes=NOT_YOURS))
async def get_credential(
    credential_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> CredentialOut:
    """One credential (masked) and where your workflows and templates use it."""
    row = await credentials.get_credential(session, actor, credential_id)
    used = await credentials.where_used(session, actor, credential_id)
    return CredentialOut.of(row, actor, [Usage.model_validate(u) for u in used])


@router.patch(ONE, openapi_extra=WRITE, responses=errors_for(401, 403, 404, 422, notes=NOT_YOURS))
async def change_credential(
    credential_id: uuid.UUID,
    body: CredentialPatch,
    session: SessionDep,
    state: StateDep,
    actor: CurrentActor,
) -> CredentialOut:
    """Rename, change settings, or replace the value (the old one is gone)."""
    given = body.given()
    row = await credentials.update_credential(
        session,
        state.vault,
        actor,
        credential_id,
        name=body.name,
        value=body.value,
        settings=given or None,
    )
    return CredentialOut.of(row, actor)


@router.delete(
    ONE,
    status_code=204,
    openapi_extra=WRITE,
    responses=errors_for(401, 403, 404, 422, notes=NOT_YOURS),
)
async def delete_credential(
    credential_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> None:
    """Runs that reference it fail from now on, naming it."""
    await credentials.delete_credential(session, actor, credential_id)


@router.post(
    ONE + "/test",
    openapi_extra=needs(TokenScope.READ),
    responses=errors_for(
        401,
        404,
        422,
        notes={
            404: NOT_YOURS[404],
            422: "A kind that cannot be tested (only model providers can)",
        },
    ),
)
async def check_credential(
    credential_id: uuid.UUID, session: SessionDep, state: StateDep, actor: CurrentActor
) -> CheckOut:
    """Try the credential: one request to the provider's models listing with the stored
    key (through the same address guard as HTTP nodes). Never answers the key."""
    row = await credentials.get_credential(session, actor, credential_id)
    usable = await credentials.usable_credential(session, state.vault, row.user_id, str(row.id))
    result = await check_connection(
        usable.kind, usable.settings, usable.value, allowlist=state.settings.http_allowlist
    )
    return CheckOut(ok=result.ok, message=result.message)
