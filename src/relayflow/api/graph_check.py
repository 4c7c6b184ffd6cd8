"""The check every saved workflow graph passes: React Flow's array shapes, then the engine's.

`check_graph` is the one hook the workflow routes call: shape problems raise
`InvalidInput`, then `relayflow.engine.validation` reports every deeper problem
(node kinds, data, edges, handles, cycles, templates, schemas) as `GraphInvalid`
with the problem list as details. `check_graph_for` adds the check of agent
template ids against the templates the caller may use.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.api.reference_check import check_references
from relayflow.config import Settings
from relayflow.domain import Actor
from relayflow.engine.validation import validate_graph
from relayflow.store.template_ids import usable_template_ids

MAX_PROBLEMS = 20  # enough to fix a batch at once without a huge answer


def _shape_problems(nodes: Any, edges: Any) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []

    def problem(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    if not isinstance(nodes, list):
        problem("nodes", "must be a list of node objects")
    else:
        for index, node in enumerate(nodes):
            where = f"nodes[{index}]"
            if not isinstance(node, dict):
                problem(where, "must be an object")
                continue
            for key in ("id", "type"):
                if not isinstance(node.get(key), str) or not node[key]:
                    problem(f"{where}.{key}", "is required and must be a non-empty string")
            for key in ("position", "data"):
                if key in node and not isinstance(node[key], dict):
                    problem(f"{where}.{key}", "must be an object")
    if not isinstance(edges, list):
        problem("edges", "must be a list of edge objects")
    else:
        for index, edge in enumerate(edges):
            where = f"edges[{index}]"
            if not isinstance(edge, dict):
                problem(where, "must be an object")
                continue
            for key in ("id", "source", "target"):
                if not isinstance(edge.get(key), str) or not edge[key]:
                    problem(f"{where}.{key}", "is required and must be a non-empty string")
    return problems


def check_graph(nodes: Any, edges: Any, *, template_ids: Collection[str] | None = None) -> None:
    """Raise `errors.InvalidInput` naming each malformed node or edge field."""
    problems = _shape_problems(nodes, edges)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        summary = "; ".join(f"{p['field']} {p['message']}" for p in shown[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise errors.InvalidInput(f"malformed graph: {summary}{more}", details=shown)
    graph_problems = validate_graph({"nodes": nodes, "edges": edges}, template_ids=template_ids)
    if graph_problems:
        summary = "; ".join(str(p) for p in graph_problems[:5])
        count = len(graph_problems)
        more = f" (and {count - 5} more)" if count > 5 else ""
        raise errors.GraphInvalid(
            f"the workflow graph is invalid: {summary}{more}",
            details=[p.as_dict() for p in graph_problems],
        )


async def check_graph_for(
    session: AsyncSession, actor: Actor, settings: Settings, nodes: Any, edges: Any
) -> None:
    """`check_graph`, with agent template ids checked against those `actor` may use,
    then the credentials and models its nodes use (`reference_check`)."""
    check_graph(nodes, edges, template_ids=await usable_template_ids(session, actor))
    await check_references(session, actor, settings, nodes)
