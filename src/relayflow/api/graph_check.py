"""The check every saved workflow graph passes: React Flow's array shapes.

`check_graph` is the one hook the workflow routes call; deeper validation (known
node kinds, dangling edges, cycles) plugs in here as the engine provides it.
"""

from __future__ import annotations

from typing import Any

from relayflow import errors

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


def check_graph(nodes: Any, edges: Any) -> None:
    """Raise `errors.InvalidInput` naming each malformed node or edge field."""
    problems = _shape_problems(nodes, edges)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        summary = "; ".join(f"{p['field']} {p['message']}" for p in shown[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise errors.InvalidInput(f"malformed graph: {summary}{more}", details=shown)
