"""Typed models of the seed schema (spec/database-schema.md) plus engine tables.

Server defaults mirror the seed on PostgreSQL; Python-side defaults make SQLite
(which has no gen_random_uuid()) produce the same values.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from relayflow.domain import utcnow
from relayflow.store.base import Base, JSONType

UUID_DEFAULT = text("gen_random_uuid()")
NOW_DEFAULT = text("now()")


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4, server_default=UUID_DEFAULT)


def _created_at() -> Mapped[dt.datetime | None]:
    return mapped_column(DateTime(), default=utcnow, server_default=NOW_DEFAULT)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("idx_users_email", "email"),)

    id: Mapped[uuid.UUID] = _id()
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(
        String(50), default="user", server_default=text("'user'")
    )
    created_at: Mapped[dt.datetime | None] = _created_at()
    updated_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(), default=utcnow, onupdate=utcnow, server_default=NOW_DEFAULT
    )


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (Index("idx_workflows_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    nodes: Mapped[list[Any]] = mapped_column(JSONType)
    edges: Mapped[list[Any]] = mapped_column(JSONType)
    # `metadata` is reserved on declarative classes; the column keeps the seed's name.
    meta: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JSONType, default=dict, server_default=text("'{}'")
    )
    is_public: Mapped[bool | None] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[dt.datetime | None] = _created_at()
    updated_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(), default=utcnow, onupdate=utcnow, server_default=NOW_DEFAULT
    )


class Execution(Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index("idx_executions_workflow_id", "workflow_id"),
        Index("idx_executions_status", "status"),
    )

    id: Mapped[uuid.UUID] = _id()
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workflows.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(50))
    input: Mapped[Any | None] = mapped_column(JSONType)
    output: Mapped[Any | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = _created_at()
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    duration_ms: Mapped[int | None] = mapped_column(Integer)


# Descending indexes of the seed, declared on the columns once the classes exist.
Index("idx_workflows_created_at", Workflow.created_at.desc())
Index("idx_executions_started_at", Execution.started_at.desc())


class AgentTemplate(Base):
    __tablename__ = "agent_templates"
    __table_args__ = (Index("ix_agent_templates_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(255))
    model: Mapped[str] = mapped_column(String(100))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(
        JSONType, default=dict, server_default=text("'{}'")
    )
    is_system: Mapped[bool | None] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[dt.datetime | None] = _created_at()
    # Extra (not in the seed): who owns a user template; NULL for system ones.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE")
    )


class Webhook(Base):
    __tablename__ = "webhooks"
    __table_args__ = (Index("idx_webhooks_api_key", "api_key"),)

    id: Mapped[uuid.UUID] = _id()
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workflows.id", ondelete="CASCADE")
    )
    # Holds the SHA-256 hex digest of the key, never the key itself.
    api_key: Mapped[str] = mapped_column(String(255), unique=True)
    enabled: Mapped[bool | None] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[dt.datetime | None] = _created_at()
    # Extras (not in the seed).
    name: Mapped[str | None] = mapped_column(String(255))
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(), onupdate=utcnow)


class LoginFailure(Base):
    """Recent failed logins per email; drives the slow-down of repeated guesses."""

    __tablename__ = "login_failures"

    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime())


class NodeRun(Base):
    """One attempt of one node (per loop iteration) of one execution."""

    __tablename__ = "node_runs"
    __table_args__ = (Index("ix_node_runs_execution_node", "execution_id", "node_id", "iteration"),)

    id: Mapped[uuid.UUID] = _id()
    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("executions.id", ondelete="CASCADE")
    )
    node_id: Mapped[str] = mapped_column(String(255))
    iteration: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[Any | None] = mapped_column(JSONType)
    output: Mapped[Any | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    active_handles: Mapped[list[Any] | None] = mapped_column(JSONType)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    output_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
