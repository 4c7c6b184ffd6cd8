"""Agent templates: the system ones everybody reads, and each user's own.

System templates are readable by all and changeable only by admins (others get
`Forbidden`, since they can see them). A user's template is visible only to
them and to admins; anyone else gets `NotFound`, as for an unknown id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from copy import deepcopy as copy_json
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.credential_kinds import PROVIDER_KINDS, CredentialKind
from relayflow.domain import Actor
from relayflow.store.credentials import may_use
from relayflow.store.models import AgentTemplate, Credential
from relayflow.store.pagination import DEFAULT_LIMIT, Page, newest_first
from relayflow.store.template_usage import describe, usage_of_one

# `provider:model`, e.g. `openai:gpt-4o`, `test:echo`, `myendpoint:llama3.2:8b`.
MODEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*:\S+$")
MODEL_MAX_LENGTH = 100
NAME_MAX_LENGTH = 255
EDITABLE_FIELDS = ("name", "role", "model", "system_prompt", "parameters", "credential_id")


class TemplateScope(StrEnum):
    VISIBLE = "visible"  # system templates plus the actor's own (the default)
    SYSTEM = "system"
    MINE = "mine"
    ALL = "all"  # admins only: every user's templates too


def model_string_problem(model: str) -> str | None:
    """Why `model` is not a `provider:model` string, or None if it is one."""
    if len(model) > MODEL_MAX_LENGTH:
        return f"must be at most {MODEL_MAX_LENGTH} characters"
    if not MODEL_PATTERN.match(model):
        return "must look like provider:model, e.g. openai:gpt-4o or test:echo"
    return None


def can_read(actor: Actor, template: AgentTemplate) -> bool:
    return bool(template.is_system) or actor.is_admin or template.user_id == actor.user_id


async def get_template(
    session: AsyncSession, actor: Actor, template_id: uuid.UUID
) -> AgentTemplate:
    template = await session.get(AgentTemplate, template_id)
    if template is None or not can_read(actor, template):
        raise errors.NotFound(f"agent template {template_id} not found")
    return template


async def get_template_to_change(
    session: AsyncSession, actor: Actor, template_id: uuid.UUID
) -> AgentTemplate:
    template = await get_template(session, actor, template_id)
    if template.is_system and not actor.is_admin:
        raise errors.Forbidden(
            f"agent template {template.name!r} is a system template; only admins can change it "
            "(create your own template from it instead)"
        )
    return template


async def list_templates(
    session: AsyncSession,
    actor: Actor,
    *,
    scope: TemplateScope = TemplateScope.VISIBLE,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AgentTemplate]:
    query = select(AgentTemplate)
    if scope is TemplateScope.VISIBLE:
        query = query.where(
            or_(AgentTemplate.is_system == true(), AgentTemplate.user_id == actor.user_id)
        )
    elif scope is TemplateScope.SYSTEM:
        query = query.where(AgentTemplate.is_system == true())
    elif scope is TemplateScope.MINE:
        query = query.where(AgentTemplate.user_id == actor.user_id)
    elif not actor.is_admin:
        raise errors.Forbidden("scope=all lists every user's templates and is for admins only")
    return await newest_first(
        session,
        query,
        created_at=AgentTemplate.created_at,
        row_id=AgentTemplate.id,
        limit=limit,
        cursor=cursor,
    )


def _check_model(model: str) -> None:
    problem = model_string_problem(model)
    if problem:
        raise errors.InvalidInput(
            f"model: {problem}", details=[{"field": "model", "message": problem}]
        )


async def _check_credential(
    session: AsyncSession, actor: Actor, credential_id: uuid.UUID | None
) -> None:
    """A template's credential: a provider credential the actor may use (admins: any)."""
    if credential_id is None:
        return
    row = await session.get(Credential, credential_id)
    if row is None or not (actor.is_admin or may_use(actor.user_id, row)):
        raise errors.NotFound(f"credential {credential_id} not found")
    if CredentialKind(row.kind) not in PROVIDER_KINDS:
        message = f"a {row.kind} credential is not a model provider credential"
        raise errors.InvalidInput(
            f"credential_id: {message}", details=[{"field": "credential_id", "message": message}]
        )


async def create_template(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    role: str,
    model: str,
    system_prompt: str | None = None,
    parameters: dict[str, Any] | None = None,
    is_system: bool = False,
    credential_id: uuid.UUID | None = None,
) -> AgentTemplate:
    if is_system and not actor.is_admin:
        raise errors.Forbidden("only admins can create system templates (is_system=true)")
    _check_model(model)
    await _check_credential(session, actor, credential_id)
    template = AgentTemplate(
        name=name,
        role=role,
        model=model,
        system_prompt=system_prompt,
        parameters=parameters if parameters is not None else {},
        is_system=is_system,
        user_id=None if is_system else actor.user_id,
        credential_id=credential_id,
    )
    session.add(template)
    await session.flush()
    await session.refresh(template)
    return template


async def update_template(
    session: AsyncSession,
    actor: Actor,
    template_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> AgentTemplate:
    """Apply `changes` (fields from EDITABLE_FIELDS, plus an unchanged `is_system`)."""
    template = await get_template_to_change(session, actor, template_id)
    if "is_system" in changes and bool(changes["is_system"]) != bool(template.is_system):
        raise errors.InvalidInput(
            "is_system: cannot be changed after creation; create a new template instead",
            details=[{"field": "is_system", "message": "cannot be changed after creation"}],
        )
    unknown = set(changes) - {*EDITABLE_FIELDS, "is_system"}
    if unknown:
        raise errors.InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    if "model" in changes:
        _check_model(changes["model"])
    if changes.get("credential_id") is not None:
        await _check_credential(session, actor, changes["credential_id"])
    for field in EDITABLE_FIELDS:
        if field in changes:
            value = changes[field]
            setattr(template, field, {} if field == "parameters" and value is None else value)
    await session.flush()
    await session.refresh(template)
    return template


async def delete_template(
    session: AsyncSession, actor: Actor, template_id: uuid.UUID, *, force: bool = False
) -> None:
    """Delete a template; one still in use only with `force` (its agents then fail)."""
    template = await get_template_to_change(session, actor, template_id)
    if not force:
        usage = await usage_of_one(session, actor, template)
        if usage.count:
            raise errors.Conflict(
                f"agent template {template.name!r} is used by {describe(usage)}; their agent "
                "nodes would fail without it (delete with force=true to delete it anyway)",
                details={
                    "workflows": [{"id": str(w.id), "name": w.name} for w in usage.workflows],
                    "others": usage.others,
                },
            )
    await session.delete(template)
    await session.flush()


def copy_name(name: str, taken: set[str]) -> str:
    """`name (copy)`, else `name (copy 2)`, ...: a name not in `taken`, within 255 chars."""
    for number in range(1, len(taken) + 2):
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        candidate = name[: NAME_MAX_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise errors.InternalError("no free copy name")  # unreachable: len(taken) + 1 tries


async def copy_template(
    session: AsyncSession, actor: Actor, template_id: uuid.UUID
) -> AgentTemplate:
    """A copy of a template the actor may read, as the actor's own, under a fresh name.

    The credential goes with it only if the actor may use it themselves."""
    source = await get_template(session, actor, template_id)
    taken = set(
        await session.scalars(
            select(AgentTemplate.name).where(
                or_(AgentTemplate.is_system == true(), AgentTemplate.user_id == actor.user_id)
            )
        )
    )
    credential_id = source.credential_id
    if credential_id is not None:
        row = await session.get(Credential, credential_id)
        if row is None or not (actor.is_admin or may_use(actor.user_id, row)):
            credential_id = None
    copy = AgentTemplate(
        name=copy_name(source.name, taken),
        role=source.role,
        model=source.model,
        system_prompt=source.system_prompt,
        parameters=copy_json(source.parameters or {}),
        is_system=False,
        user_id=actor.user_id,
        credential_id=credential_id,
    )
    session.add(copy)
    await session.flush()
    await session.refresh(copy)
    return copy
