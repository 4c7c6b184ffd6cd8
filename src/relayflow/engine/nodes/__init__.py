"""The node kinds: one module per kind, and the registry the validator and executor share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from relayflow.engine import spec
from relayflow.engine.nodes import (
    agent,
    approval,
    condition,
    http,
    input,
    map,
    merge,
    output,
    subworkflow,
    transform,
)
from relayflow.engine.nodes.base import NodeContext, NodeOutcome

Handler = Callable[[NodeContext], Awaitable[NodeOutcome]]


@dataclass(frozen=True)
class NodeKind:
    name: str
    data_model: type[spec.NodeData]
    run: Handler
    # The handle an edge without `sourceHandle` leaves from (approval: "approved").
    default_handle: str | None = None
    # Edges from this kind must name one of its declared handles.
    requires_handle: bool = False


NODE_KINDS: dict[str, NodeKind] = {
    kind.name: kind
    for kind in (
        NodeKind("input", spec.InputData, input.run),
        NodeKind("agent", spec.AgentData, agent.run),
        NodeKind("http", spec.HttpData, http.run),
        NodeKind("condition", spec.ConditionData, condition.run, requires_handle=True),
        NodeKind("transform", spec.TransformData, transform.run),
        NodeKind("merge", spec.MergeData, merge.run),
        NodeKind("map", spec.MapData, map.run),
        NodeKind("subworkflow", spec.SubworkflowData, subworkflow.run),
        NodeKind("approval", spec.ApprovalData, approval.run, default_handle="approved"),
        NodeKind("output", spec.OutputData, output.run),
    )
}

__all__ = ["NODE_KINDS", "Handler", "NodeContext", "NodeKind", "NodeOutcome"]
