"""Which agent template ids a user may put in a workflow (for graph validation)."""

from __future__ import annotations

from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import Actor
from relayflow.store.models import AgentTemplate


async def usable_template_ids(session: AsyncSession, actor: Actor) -> set[str]:
    """System templates and the actor's own; every template for an admin."""
    query = select(AgentTemplate.id)
    if not actor.is_admin:
        query = query.where(
            or_(AgentTemplate.is_system == true(), AgentTemplate.user_id == actor.user_id)
        )
    return {str(template_id) for template_id in await session.scalars(query)}
