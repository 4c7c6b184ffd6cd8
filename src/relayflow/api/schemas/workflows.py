"""Workflows: a React Flow graph (`nodes`, `edges`) with a name and metadata."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, field_validator

from relayflow.api.schemas.common import UtcDateTime, not_null
from relayflow.domain import Actor
from relayflow.store.models import Workflow

Name = Annotated[str, Field(min_length=1, max_length=255)]
Nodes = Annotated[list[Any], Field(description="React Flow nodes: `{id, type, position, data}`.")]
Edges = Annotated[list[Any], Field(description="React Flow edges: `{id, source, target, ...}`.")]


class WorkflowIn(BaseModel):
    """A whole workflow (create, or replace with PUT: left-out fields get their defaults)."""

    name: Name
    description: str | None = None
    nodes: Nodes
    edges: Edges
    metadata: dict[str, Any] | None = None
    is_public: StrictBool = False
    chat_model: StrictBool = Field(
        False, description="Offered as the chat model `workflow/<id>` at `/v1` (docs/interop.md)."
    )
    mcp_tool: StrictBool = Field(False, description="Offered as a tool at `/mcp`.")


class WorkflowPatch(BaseModel):
    """Only the fields given change."""

    name: Name | None = None
    description: str | None = None
    nodes: Nodes | None = None
    edges: Edges | None = None
    metadata: dict[str, Any] | None = None
    is_public: StrictBool | None = None
    chat_model: StrictBool | None = None
    mcp_tool: StrictBool | None = None

    _not_null = field_validator(
        "name", "nodes", "edges", "is_public", "chat_model", "mcp_tool", mode="before"
    )(not_null)


class WorkflowOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    description: str | None
    nodes: list[Any]
    edges: list[Any]
    metadata: dict[str, Any]
    is_public: bool
    chat_model: bool
    mcp_tool: bool
    created_at: UtcDateTime | None
    updated_at: UtcDateTime | None
    owned: bool = Field(description="Whether the caller owns this workflow.")

    @classmethod
    def of(cls, workflow: Workflow, actor: Actor) -> WorkflowOut:
        return cls(
            id=workflow.id,
            user_id=workflow.user_id,
            name=workflow.name,
            description=workflow.description,
            nodes=workflow.nodes,
            edges=workflow.edges,
            metadata=workflow.meta or {},
            is_public=bool(workflow.is_public),
            chat_model=bool(workflow.chat_model),
            mcp_tool=bool(workflow.mcp_tool),
            created_at=workflow.created_at,
            updated_at=workflow.updated_at,
            owned=workflow.user_id == actor.user_id,
        )
