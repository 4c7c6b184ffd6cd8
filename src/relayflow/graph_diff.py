"""What changed between two React Flow graphs (`{nodes, edges}`), for version diffs.

Nodes are matched by id: added, removed, or changed (a different `type` or
`data` field, each with its old and new value); a node that only moved on the
canvas is listed under `moved`. Edges are matched by what they connect
(source, target and their handles), not by id, since the editor may re-create
an edge under a new id without changing the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ABSENT: Any = None  # the value a field has on the side where it does not exist


@dataclass(frozen=True)
class FieldChange:
    field: str  # a key of the node's `data`, or `type`
    old: Any
    new: Any


@dataclass(frozen=True)
class NodeChange:
    id: str
    type: str | None
    fields: list[FieldChange]


@dataclass(frozen=True)
class GraphDiff:
    nodes_added: list[dict[str, Any]] = field(default_factory=list)
    nodes_removed: list[dict[str, Any]] = field(default_factory=list)
    nodes_changed: list[NodeChange] = field(default_factory=list)
    nodes_moved: list[str] = field(default_factory=list)
    edges_added: list[dict[str, Any]] = field(default_factory=list)
    edges_removed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.nodes_added
            or self.nodes_removed
            or self.nodes_changed
            or self.nodes_moved
            or self.edges_added
            or self.edges_removed
        )


def _by_id(items: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            found[item["id"]] = dict(item)
    return found


def _edge_key(edge: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        edge.get("source"),
        edge.get("sourceHandle") or None,
        edge.get("target"),
        edge.get("targetHandle") or None,
    )


def _data(node: Mapping[str, Any]) -> dict[str, Any]:
    data = node.get("data")
    return dict(data) if isinstance(data, Mapping) else {}


def _node_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    if old.get("type") != new.get("type"):
        changes.append(FieldChange("type", old.get("type"), new.get("type")))
    old_data, new_data = _data(old), _data(new)
    for key in sorted(set(old_data) | set(new_data)):
        before, after = old_data.get(key, _ABSENT), new_data.get(key, _ABSENT)
        if key not in old_data or key not in new_data or before != after:
            changes.append(FieldChange(key, before, after))
    return changes


def diff_graphs(old: Mapping[str, Any], new: Mapping[str, Any]) -> GraphDiff:
    """What turns `old` into `new`; lists keep the order of the graph they come from."""
    old_nodes, new_nodes = _by_id(old.get("nodes")), _by_id(new.get("nodes"))
    changed: list[NodeChange] = []
    moved: list[str] = []
    for node_id, after in new_nodes.items():
        before = old_nodes.get(node_id)
        if before is None:
            continue
        fields = _node_fields(before, after)
        if fields:
            kind = after.get("type")
            changed.append(NodeChange(node_id, kind if isinstance(kind, str) else None, fields))
        if before.get("position") != after.get("position"):
            moved.append(node_id)

    old_edges = {_edge_key(e): e for e in _by_id(old.get("edges")).values()}
    new_edges = {_edge_key(e): e for e in _by_id(new.get("edges")).values()}
    return GraphDiff(
        nodes_added=[n for i, n in new_nodes.items() if i not in old_nodes],
        nodes_removed=[n for i, n in old_nodes.items() if i not in new_nodes],
        nodes_changed=changed,
        nodes_moved=moved,
        edges_added=[e for k, e in new_edges.items() if k not in old_edges],
        edges_removed=[e for k, e in old_edges.items() if k not in new_edges],
    )
