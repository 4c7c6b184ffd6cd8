"""Agent templates: the system ones plus each user's own."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from relayflow.api.auth import CurrentActor, needs
from relayflow.api.body_parsing import CheckedRoute
from relayflow.api.deps import SessionDep, SettingsDep
from relayflow.api.errors import errors_for
from relayflow.api.mcp_server_check import check_template_servers
from relayflow.api.pagination import PageDep
from relayflow.api.schemas.agent_templates import TemplateIn, TemplateOut, TemplatePatch
from relayflow.api.schemas.common import PageOut
from relayflow.domain import TokenScope
from relayflow.store import agent_templates
from relayflow.store.agent_templates import TemplateScope

router = APIRouter(
    prefix="/api/v1/agent-templates", tags=["agent templates"], route_class=CheckedRoute
)
ONE = "/{template_id:uuid}"  # see api.route_match
SYSTEM = {403: "A system template; only admins change it"}


@router.get("", responses=errors_for(401, 403, 422, notes={403: "`scope=all` is for admins"}))
async def list_templates(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    scope: TemplateScope = TemplateScope.VISIBLE,
) -> PageOut[TemplateOut]:
    """Newest first. `scope`: `visible` (system + mine; default), `system`, `mine`, `all`."""
    found = await agent_templates.list_templates(
        session, actor, scope=scope, limit=page.limit, cursor=page.cursor
    )
    return PageOut(
        items=[TemplateOut.model_validate(t) for t in found.items], next_cursor=found.next_cursor
    )


@router.post(
    "",
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    status_code=201,
    responses=errors_for(
        401,
        403,
        404,
        422,
        notes={403: "`is_system` is for admins", 404: "No such credential (or not yours)"},
    ),
)
async def create_template(
    body: TemplateIn, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> TemplateOut:
    await check_template_servers(session, actor, body.parameters, settings)
    template = await agent_templates.create_template(session, actor, **body.model_dump())
    return TemplateOut.model_validate(template)


@router.get(ONE, responses=errors_for(401, 404, 422))
async def get_template(
    template_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> TemplateOut:
    template = await agent_templates.get_template(session, actor, template_id)
    return TemplateOut.model_validate(template)


@router.put(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    responses=errors_for(401, 403, 404, 422, notes=SYSTEM),
)
async def replace_template(
    template_id: uuid.UUID,
    body: TemplateIn,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
) -> TemplateOut:
    await check_template_servers(session, actor, body.parameters, settings)
    template = await agent_templates.update_template(session, actor, template_id, body.model_dump())
    return TemplateOut.model_validate(template)


@router.patch(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    responses=errors_for(401, 403, 404, 422, notes=SYSTEM),
)
async def change_template(
    template_id: uuid.UUID,
    body: TemplatePatch,
    session: SessionDep,
    actor: CurrentActor,
    settings: SettingsDep,
) -> TemplateOut:
    await check_template_servers(session, actor, body.parameters, settings)
    template = await agent_templates.update_template(
        session, actor, template_id, body.model_dump(exclude_unset=True)
    )
    return TemplateOut.model_validate(template)


@router.delete(
    ONE,
    openapi_extra=needs(TokenScope.WRITE_WORKFLOWS),
    status_code=204,
    responses=errors_for(401, 403, 404, 422, notes=SYSTEM),
)
async def delete_template(template_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> None:
    await agent_templates.delete_template(session, actor, template_id)
