"""Which workflows use an agent template: the "used by" figure and the guard on delete.

A workflow uses a template when its draft graph or its published version names the
template's id in an agent node (`template_id`, `delegates`) or a map node
(`template_id`). Those are the graphs that would fail once the template is gone.

Only workflows the actor may read are named. A system template is everybody's, so
its figure also counts other users' private workflows (without naming them): an
admin about to delete it must know the demo of every account depends on it. For a
user's own template, only the workflows the actor may read are counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import Actor
from relayflow.store.models import AgentTemplate, Workflow, WorkflowVersion
from relayflow.store.workflows import may_read

# Node kinds, and the keys of their `data`, that name agent templates.
_SINGLE_KEYS = {"agent": ("template_id",), "map": ("template_id",)}
_LIST_KEYS = {"agent": ("delegates",)}


@dataclass(frozen=True)
class UsingWorkflow:
    id: uuid.UUID
    name: str


@dataclass
class TemplateUsage:
    """Workflows the actor may read (named), and others counted but not named."""

    workflows: list[UsingWorkflow] = field(default_factory=list)
    others: int = 0

    @property
    def count(self) -> int:
        return len(self.workflows) + self.others


def referenced_template_ids(nodes: Any) -> Iterator[str]:
    """Every template id a graph's nodes name (duplicates included)."""
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
            continue
        kind, data = node.get("type"), node["data"]
        for key in _SINGLE_KEYS.get(str(kind), ()):
            if isinstance(data.get(key), str):
                yield data[key]
        for key in _LIST_KEYS.get(str(kind), ()):
            values = data.get(key)
            for value in values if isinstance(values, list) else []:
                if isinstance(value, str):
                    yield value


def _graph_nodes(graph: Any) -> Any:
    return graph.get("nodes") if isinstance(graph, dict) else None


async def usage_of(
    session: AsyncSession, actor: Actor, templates: Sequence[AgentTemplate]
) -> dict[uuid.UUID, TemplateUsage]:
    """How each of `templates` is used, as `actor` may know it."""
    usage = {t.id: TemplateUsage() for t in templates}
    if not templates:
        return usage
    wanted = {str(t.id): t for t in templates}
    published = WorkflowVersion.__table__.alias("published")
    # A coarse filter in SQL (the id appears somewhere in the JSON text), the exact
    # check on the parsed nodes below; the same statement on SQLite and PostgreSQL.
    mentions = [
        cast(column, String).contains(template_id)
        for template_id in wanted
        for column in (Workflow.nodes, published.c.graph)
    ]
    query = (
        select(
            Workflow.id,
            Workflow.name,
            Workflow.user_id,
            Workflow.is_public,
            Workflow.nodes,
            published.c.graph,
        )
        .outerjoin(
            published,
            and_(
                published.c.workflow_id == Workflow.id,
                published.c.number == Workflow.published_version,
            ),
        )
        .where(or_(*mentions))
        .order_by(Workflow.name, Workflow.id)
    )
    for row in await session.execute(query):
        used = set(referenced_template_ids(row.nodes))
        used |= set(referenced_template_ids(_graph_nodes(row.graph)))
        readable = may_read(actor, row.user_id, row.is_public)
        for template_id in used & wanted.keys():
            template = wanted[template_id]
            entry = usage[template.id]
            if readable:
                entry.workflows.append(UsingWorkflow(row.id, row.name))
            elif template.is_system:
                entry.others += 1
    return usage


async def usage_of_one(
    session: AsyncSession, actor: Actor, template: AgentTemplate
) -> TemplateUsage:
    return (await usage_of(session, actor, [template]))[template.id]


def describe(usage: TemplateUsage, *, limit: int = 5) -> str:
    """`"Demo", "Support" and 2 other workflows` for messages."""
    names = [f"{w.name!r}" for w in usage.workflows[:limit]]
    rest = usage.count - len(names)
    if rest:
        names.append(f"{rest} other workflow{'s' if rest != 1 else ''}")
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
