"""Workflow versions: saved graphs, publishing, restoring, and what changed between two."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from relayflow.api.schemas.common import UtcDateTime
from relayflow.graph_diff import GraphDiff
from relayflow.store.models import Workflow, WorkflowVersion
from relayflow.store.versions import MAX_MESSAGE_LENGTH

Message = Field(
    default=None,
    max_length=MAX_MESSAGE_LENGTH,
    description="A note on this version, e.g. what changed and why.",
)


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, ge=1, description="The version to publish; left out: the draft."
    )
    message: str | None = Message


class VersionOut(BaseModel):
    number: int
    author_id: uuid.UUID | None
    message: str | None
    created_at: UtcDateTime | None
    is_draft: bool = Field(description="The newest version: what the editor saved last.")
    is_published: bool = Field(description="What webhooks and schedules run.")

    @classmethod
    def of(cls, version: WorkflowVersion, workflow: Workflow) -> VersionOut:
        return cls(
            number=version.number,
            author_id=version.author_id,
            message=version.message,
            created_at=version.created_at,
            is_draft=version.number == workflow.draft_version,
            is_published=version.number == workflow.published_version,
        )


class VersionDetailOut(VersionOut):
    nodes: list[Any]
    edges: list[Any]

    @classmethod
    def detail(cls, version: WorkflowVersion, workflow: Workflow) -> VersionDetailOut:
        graph = version.graph if isinstance(version.graph, dict) else {}
        return cls(
            **VersionOut.of(version, workflow).model_dump(),
            nodes=list(graph.get("nodes") or []),
            edges=list(graph.get("edges") or []),
        )


class VersionListOut(BaseModel):
    items: list[VersionOut]
    next_cursor: str | None
    draft_version: int | None
    published_version: int | None


class FieldChangeOut(BaseModel):
    field: str = Field(description="A key of the node's `data`, or `type`.")
    old: Any = Field(description="The value in the older version (null: not set).")
    new: Any = Field(description="The value in the newer version (null: not set).")


class NodeChangeOut(BaseModel):
    id: str
    type: str | None
    fields: list[FieldChangeOut]


class NodesDiffOut(BaseModel):
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[NodeChangeOut]
    moved: list[str] = Field(description="Ids of nodes that only moved on the canvas.")


class EdgesDiffOut(BaseModel):
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]


class VersionDiffOut(BaseModel):
    """What turns version `from_version` into version `to_version`."""

    from_version: int
    to_version: int
    nodes: NodesDiffOut
    edges: EdgesDiffOut

    @classmethod
    def of(cls, a: int, b: int, diff: GraphDiff) -> VersionDiffOut:
        return cls(
            from_version=a,
            to_version=b,
            nodes=NodesDiffOut(
                added=diff.nodes_added,
                removed=diff.nodes_removed,
                changed=[
                    NodeChangeOut(
                        id=c.id,
                        type=c.type,
                        fields=[
                            FieldChangeOut(field=f.field, old=f.old, new=f.new) for f in c.fields
                        ],
                    )
                    for c in diff.nodes_changed
                ],
                moved=diff.nodes_moved,
            ),
            edges=EdgesDiffOut(added=diff.edges_added, removed=diff.edges_removed),
        )
