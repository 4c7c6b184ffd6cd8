"""Graph validation: a graph in, the verdict (and every problem) out."""

from __future__ import annotations

from pydantic import BaseModel, Field

from relayflow.api.schemas.workflows import Edges, Nodes


class GraphIn(BaseModel):
    nodes: Nodes
    edges: Edges = Field(default_factory=list)


class GraphProblemOut(BaseModel):
    node_id: str | None
    edge_id: str | None
    field: str | None
    message: str


class ValidationOut(BaseModel):
    valid: bool
    problems: list[GraphProblemOut]

    @classmethod
    def ok(cls) -> ValidationOut:
        return cls(valid=True, problems=[])


__all__ = ["GraphIn", "GraphProblemOut", "ValidationOut"]
