"""Credentials: stored encrypted, used by reference, never answered in the clear.

Who may do what with a credential:
- use it in a run (and reference it in a workflow): its owner, and everyone when it is
  shared (made by an admin). Nobody else, admins included: a run uses its runner's.
- read its settings: those who may use it, and admins;
- change or delete it: its owner, and admins (a shared one: admins only).
An id the actor may not read is `NotFound`, exactly like an unknown one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.credential_kinds import CredentialKind, check_settings, mask
from relayflow.domain import Actor
from relayflow.store.models import AgentTemplate, Credential, Workflow
from relayflow.vault import Vault


@dataclass(frozen=True)
class Usable:
    """A credential decrypted for a run: its kind, settings and secret value."""

    id: uuid.UUID
    name: str
    kind: CredentialKind
    settings: dict[str, str]
    value: str | None


def _not_found(credential_id: uuid.UUID) -> errors.NotFound:
    return errors.NotFound(f"credential {credential_id} not found")


def may_use(user_id: uuid.UUID | None, row: Credential) -> bool:
    return row.is_shared or (user_id is not None and row.user_id == user_id)


def may_read(actor: Actor, row: Credential) -> bool:
    return actor.is_admin or may_use(actor.user_id, row)


async def get_credential(
    session: AsyncSession, actor: Actor, credential_id: uuid.UUID
) -> Credential:
    row = await session.get(Credential, credential_id)
    if row is None or not may_read(actor, row):
        raise _not_found(credential_id)
    return row


async def get_credential_to_change(
    session: AsyncSession, actor: Actor, credential_id: uuid.UUID
) -> Credential:
    row = await get_credential(session, actor, credential_id)
    if not actor.is_admin and row.user_id != actor.user_id:
        raise errors.Forbidden("only admins can change a shared credential")
    return row


async def list_credentials(
    session: AsyncSession, actor: Actor, *, everyone: bool = False
) -> list[Credential]:
    """The actor's own and the shared ones; with `everyone` (admins only), all."""
    query = select(Credential).order_by(Credential.name, Credential.id)
    if not (everyone and actor.is_admin):
        query = query.where(or_(Credential.user_id == actor.user_id, Credential.is_shared))
    return list((await session.scalars(query)).all())


async def create_credential(
    session: AsyncSession,
    vault: Vault,
    actor: Actor,
    *,
    name: str,
    kind: CredentialKind,
    value: str | None,
    settings: dict[str, str],
    shared: bool,
    max_per_user: int,
) -> Credential:
    if shared and not actor.is_admin:
        raise errors.Forbidden("only admins can share a credential with everyone")
    held = await session.scalar(
        select(func.count()).select_from(Credential).where(Credential.user_id == actor.user_id)
    )
    if (held or 0) >= max_per_user:
        raise errors.Conflict(
            f"an account may hold at most {max_per_user} credentials "
            "(RELAYFLOW_MAX_CREDENTIALS_PER_USER)"
        )
    kept = check_settings(kind, name, settings, has_value=bool(value))
    row = Credential(
        user_id=actor.user_id,
        name=name,
        kind=kind.value,
        config=kept,
        ciphertext=vault.encrypt({"value": value}),
        hint=mask(value),
        is_shared=shared,
    )
    session.add(row)
    await session.flush()
    return row


async def update_credential(
    session: AsyncSession,
    vault: Vault,
    actor: Actor,
    credential_id: uuid.UUID,
    *,
    name: str | None = None,
    value: str | None = None,
    settings: dict[str, str] | None = None,
) -> Credential:
    """Rename, replace the value, or change settings; what is left out stays."""
    row = await get_credential_to_change(session, actor, credential_id)
    kind = CredentialKind(row.kind)
    new_name = name if name is not None else row.name
    new_settings = {**row.config, **settings} if settings is not None else dict(row.config)
    has_value = bool(value) or bool(row.hint)
    row.config = check_settings(kind, new_name, new_settings, has_value=has_value)
    row.name = new_name
    if value is not None:
        row.ciphertext = vault.encrypt({"value": value})
        row.hint = mask(value)
    await session.flush()
    return row


async def delete_credential(session: AsyncSession, actor: Actor, credential_id: uuid.UUID) -> None:
    row = await get_credential_to_change(session, actor, credential_id)
    await session.execute(
        update(AgentTemplate)
        .where(AgentTemplate.credential_id == row.id)
        .values(credential_id=None)
    )
    await session.delete(row)
    await session.flush()


# ------------------------------------------------------------------ use by reference
async def usable_kinds(session: AsyncSession, user_id: uuid.UUID) -> dict[str, CredentialKind]:
    """Every credential the user may reference, id (text) -> kind."""
    rows = await session.execute(
        select(Credential.id, Credential.kind).where(
            or_(Credential.user_id == user_id, Credential.is_shared)
        )
    )
    return {str(cid): CredentialKind(kind) for cid, kind in rows.all()}


async def usable_credential(
    session: AsyncSession, vault: Vault, user_id: uuid.UUID | None, credential_id: str
) -> Usable:
    """A credential decrypted for a run of `user_id`; NotFound unless theirs or shared."""
    try:
        key = uuid.UUID(credential_id)
    except ValueError:
        raise errors.NotFound(f"credential {credential_id!r} not found") from None
    row = await session.get(Credential, key)
    if row is None or not may_use(user_id, row):
        raise _not_found(key)
    return Usable(
        id=row.id,
        name=row.name,
        kind=CredentialKind(row.kind),
        settings=dict(row.config),
        value=vault.decrypt(row.ciphertext).get("value"),
    )


async def secrets_of(
    session: AsyncSession, vault: Vault, user_id: uuid.UUID | None
) -> dict[str, str]:
    """The generic secrets a run of `user_id` reads as `secrets.NAME` (own ones win)."""
    if user_id is None:
        return {}
    rows = (
        await session.scalars(
            select(Credential).where(
                Credential.kind == CredentialKind.SECRET.value,
                or_(Credential.user_id == user_id, Credential.is_shared),
            )
        )
    ).all()
    ordered = sorted(rows, key=lambda r: r.user_id == user_id)  # own ones last: they win
    found: dict[str, str] = {}
    for row in ordered:
        value = vault.decrypt(row.ciphertext).get("value")
        if value:
            found[row.name] = value
    return found


async def rotate_all(session: AsyncSession, vault: Vault) -> int:
    """Re-encrypt every credential under the vault's current key; how many there were."""
    rows = (await session.scalars(select(Credential))).all()
    for row in rows:
        row.ciphertext = vault.rotate(row.ciphertext)
    await session.flush()
    return len(rows)


# ------------------------------------------------------------------ where used
def references(nodes: Any) -> Iterator[tuple[str, str, str]]:
    """`(node id, field, credential id)` for every credential a graph's nodes name."""
    if not isinstance(nodes, list):
        return
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
            continue
        data, node_id = node["data"], str(node.get("id"))
        if isinstance(data.get("credential_id"), str):
            yield node_id, "data.credential_id", data["credential_id"]
        for list_field in ("tools", "mcp_servers"):
            listed = data.get(list_field)
            for index, tool in enumerate(listed if isinstance(listed, list) else []):
                if isinstance(tool, dict) and isinstance(tool.get("credential_id"), str):
                    ref = tool["credential_id"]
                    yield node_id, f"data.{list_field}[{index}].credential_id", ref


async def where_used(
    session: AsyncSession, actor: Actor, credential_id: uuid.UUID
) -> list[dict[str, str]]:
    """The actor's workflows and templates that name this credential."""
    target = str(credential_id)
    used: list[dict[str, str]] = []
    workflows = await session.execute(
        select(Workflow.id, Workflow.name, Workflow.nodes).where(Workflow.user_id == actor.user_id)
    )
    for workflow_id, name, nodes in workflows.all():
        for node_id, field, ref in references(nodes):
            if ref == target:
                used.append(
                    {
                        "workflow_id": str(workflow_id),
                        "workflow_name": name,
                        "node_id": node_id,
                        "field": field,
                    }
                )
    templates = await session.execute(
        select(AgentTemplate.id, AgentTemplate.name).where(
            AgentTemplate.user_id == actor.user_id, AgentTemplate.credential_id == credential_id
        )
    )
    for template_id, name in templates.all():
        used.append({"template_id": str(template_id), "template_name": name})
    return used
