"""Workflows: a React Flow graph (`nodes`, `edges`) with a name and metadata."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, field_validator

from relayflow.api.schemas.common import UtcDateTime, not_null
from relayflow.domain import Actor
from relayflow.store.models import Workflow
from relayflow.store.versions import MAX_MESSAGE_LENGTH

Name = Annotated[str, Field(min_length=1, max_length=255)]
Nodes = Annotated[list[Any], Field(description="React Flow nodes: `{id, type, position, data}`.")]
Edges = Annotated[list[Any], Field(description="React Flow edges: `{id, source, target, ...}`.")]
RetentionDays = Annotated[
    int | None,
    Field(
        ge=1,
        le=36_500,
        description="Finished executions older than this many days are deleted; "
        "null: the server's retention (RELAYFLOW_RETENTION_DAYS, by default keep all).",
    ),
]
MaxParallelNodes = Annotated[
    int | None,
    Field(
        ge=1,
        description="Nodes one execution runs at once; null: the server's default "
        "(RELAYFLOW_MAX_PARALLEL_NODES). At most RELAYFLOW_MAX_PARALLEL_NODES_CEILING.",
    ),
]
VersionMessage = Field(
    default=None,
    max_length=MAX_MESSAGE_LENGTH,
    description="A note on the version this save creates (a save makes a version only "
    "when the graph changes).",
)


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
    retention_days: RetentionDays = None
    max_parallel_nodes: MaxParallelNodes = None
    publish: StrictBool = Field(
        default=True,
        description="On create: publish version 1 at once (the default), so webhooks and "
        "schedules can run it; false keeps it a draft until `POST .../publish`. "
        "Ignored on PUT.",
    )
    version_message: str | None = VersionMessage


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
    retention_days: RetentionDays = None
    max_parallel_nodes: MaxParallelNodes = None
    version_message: str | None = VersionMessage

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
    retention_days: int | None = None
    max_parallel_nodes: int | None = None
    created_at: UtcDateTime | None
    updated_at: UtcDateTime | None
    owned: bool = Field(description="Whether the caller owns this workflow.")
    draft_version: int | None = Field(
        description="The version the editor saved last (its graph is `nodes`/`edges`)."
    )
    published_version: int | None = Field(
        description="The version webhooks and schedules run; null: never published."
    )

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
            retention_days=workflow.retention_days,
            max_parallel_nodes=workflow.max_parallel_nodes,
            created_at=workflow.created_at,
            updated_at=workflow.updated_at,
            owned=workflow.user_id == actor.user_id,
            draft_version=workflow.draft_version,
            published_version=workflow.published_version,
        )
