"""Typed models of the seed schema (spec/database-schema.md) plus engine tables.

Server defaults mirror the seed on PostgreSQL; Python-side defaults make SQLite
(which has no gen_random_uuid()) produce the same values.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    insert,
    text,
)
from sqlalchemy.engine import Connection
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
    # Not in the seed (migration 0013): bumped on a password change, which ends every
    # sign-in token issued before it.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


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
    # Revision 0011 (interop): offered as the chat model `workflow/<id>` on `/v1`,
    # and as a tool on `/mcp`.
    chat_model: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    mcp_tool: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Extras (migration 0012): overrides of the server's retention and node parallelism.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    max_parallel_nodes: Mapped[int | None] = mapped_column(Integer)
    # Extras (versions, migration 0010): the number of the version the editor last
    # saved (its graph is `nodes`/`edges`) and of the one triggers run (None: never
    # published). A new workflow starts as version 1, published (see store.versions).
    draft_version: Mapped[int | None] = mapped_column(Integer, default=1)
    published_version: Mapped[int | None] = mapped_column(Integer, default=1)


class WorkflowVersion(Base):
    """One saved graph of a workflow, immutable once written (migration 0010)."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "number", name="workflow_versions_workflow_number_key"),
    )

    id: Mapped[uuid.UUID] = _id()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflows.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    graph: Mapped[dict[str, Any]] = mapped_column(JSONType)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(), default=utcnow, server_default=NOW_DEFAULT
    )


class Execution(Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index("idx_executions_workflow_id", "workflow_id"),
        Index("idx_executions_status", "status"),
        # Extras (runtime): the claim query's order and per-user lookups.
        Index("ix_executions_status_started_at", "status", "started_at"),
        # Migration 0014: a user's history, and a workflow's, read in page order.
        Index("ix_executions_user_started", "user_id", "started_at", "id"),
        Index("ix_executions_workflow_started", "workflow_id", "started_at", "id"),
        # Migration 0015: a workflow's history filtered by status, in page order.
        Index("ix_executions_workflow_status_started", "workflow_id", "status", "started_at", "id"),
        # Live rows only (migration 0008): the queue's statements read these, so they
        # cost the same whatever the history.
        Index(
            "ix_executions_pending_started_at",
            "started_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Migration 0016 (replacing 0008's (user_id, started_at)): a claim's read of
        # each user's pending executions, in its order.
        Index(
            "ix_executions_pending_user_started",
            "user_id",
            "started_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_executions_processing_user_id",
            "user_id",
            postgresql_where=text("status = 'processing'"),
            sqlite_where=text("status = 'processing'"),
        ),
        # Migration 0012: deleting an execution finds its reruns without a scan.
        Index(
            "ix_executions_rerun_of",
            "rerun_of",
            postgresql_where=text("rerun_of IS NOT NULL"),
            sqlite_where=text("rerun_of IS NOT NULL"),
        ),
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
    # Extras (not in the seed, migration 0004): who started it, the pinned graph, the
    # trigger, the worker lease (its token fences stale writers), approvals, reruns, usage.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    graph: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    trigger: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_token: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    lost_leases: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cancel_requested: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    decisions: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    rerun_of: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("executions.id", ondelete="SET NULL")
    )
    rerun_from_node: Mapped[str | None] = mapped_column(String(255))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    output_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    waiting_on: Mapped[list[Any] | None] = mapped_column(JSONType)
    # When a worker first claimed it: `claimed_at - started_at` is the queue latency.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    # The workflow version it runs (migration 0010); None for runs from before versions.
    workflow_version: Mapped[int | None] = mapped_column(Integer)


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
    # Extra (migration 0009): the provider credential its agents use, by reference.
    credential_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


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
    # Extras (triggers, migration 0005). The signing secret is never stored: it is
    # derived from the server secret and this salt (see relayflow.signatures).
    signing_secret_salt: Mapped[str | None] = mapped_column(String(64))
    require_signature: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    allow_query_key: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)  # None: unlimited


class LoginCounter(Base):
    """Failed sign-ins in the current window of one account or one client address.

    `subject` is `account:` or `address:` and a SHA-256 of the email or address, so
    the table holds no email anyone typed. Migration 0006 (replaced `login_failures`).
    """

    __tablename__ = "login_counters"
    __table_args__ = (Index("ix_login_counters_window_ends_at", "window_ends_at"),)

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_ends_at: Mapped[dt.datetime] = mapped_column(DateTime())


class NodeRun(Base):
    """One attempt of one node (per loop iteration) of one execution."""

    __tablename__ = "node_runs"
    __table_args__ = (
        Index("ix_node_runs_execution_node", "execution_id", "node_id", "iteration"),
        # A finished node is recorded at most once (store.completions, migration 0007).
        Index(
            "uq_node_runs_completed",
            "execution_id",
            "node_id",
            "iteration",
            unique=True,
            postgresql_where=text("status = 'completed'"),
            sqlite_where=text("status = 'completed'"),
        ),
    )

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


class ExecutionEvent(Base):
    """One live event of an execution, in publication order (SSE replays from here)."""

    __tablename__ = "execution_events"
    __table_args__ = (Index("ix_execution_events_execution_id_id", "execution_id", "id"),)

    # BIGINT identity on PostgreSQL; SQLite needs INTEGER PRIMARY KEY to autoincrement.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), Identity(), primary_key=True
    )
    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("executions.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)


class ProviderSlot(Base):
    """One numbered concurrency slot of a model provider, leased while a worker calls it."""

    __tablename__ = "provider_slots"

    provider: Mapped[str] = mapped_column(String(100), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime())


class IdempotencyKey(Base):
    """An `Idempotency-Key` seen on a webhook and the execution it started.

    The primary key is the uniqueness guarantee: concurrent duplicates race on
    the insert, not on a read. The execution foreign key is checked at commit
    (deferred) because the key row is written before the execution it names.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("ix_idempotency_keys_created_at", "created_at"),
        Index("ix_idempotency_keys_execution_id", "execution_id"),  # migration 0012
    )

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("executions.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)


class SeenSignature(Base):
    """A webhook signature already accepted, kept while its timestamp is within the
    tolerance, so that a replayed delivery is refused (migration 0006)."""

    __tablename__ = "seen_signatures"
    __table_args__ = (Index("ix_seen_signatures_expires_at", "expires_at"),)

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    signature: Mapped[str] = mapped_column(String(100), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime())


class RateLimitBucket(Base):
    """A fixed-window request counter shared by every API process."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (Index("ix_rate_limit_buckets_window_start", "window_start"),)

    bucket: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Schedule(Base):
    """A cron schedule that starts a workflow; `next_run_at` is its claim token."""

    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_workflow_id", "workflow_id"),
        Index("ix_schedules_enabled_next_run_at", "enabled", "next_run_at"),
    )

    id: Mapped[uuid.UUID] = _id()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflows.id", ondelete="CASCADE")
    )
    name: Mapped[str | None] = mapped_column(String(255))
    cron: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default=text("'UTC'"))
    input: Mapped[Any | None] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    missed_policy: Mapped[str] = mapped_column(
        String(20), default="skip", server_default=text("'skip'")
    )
    next_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    last_run_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    last_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("executions.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(), default=utcnow, server_default=NOW_DEFAULT
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(), default=utcnow, onupdate=utcnow, server_default=NOW_DEFAULT
    )


class ApiToken(Base):
    """A personal API token (migration 0009): only the SHA-256 of the token is kept.

    `scopes` is a list of `TokenScope` values; a deleted row is a revoked token.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[Any]] = mapped_column(JSONType)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(), default=utcnow, server_default=NOW_DEFAULT
    )


class Credential(Base):
    """A stored secret used by reference (migration 0009).

    `config` holds what is not secret (a base URL, a header name, a user name);
    `ciphertext` the secret values, encrypted under the credentials key. A shared
    credential (made by an admin) is usable by everyone, readable and changeable by admins.
    """

    __tablename__ = "credentials"
    __table_args__ = (Index("ix_credentials_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = _id()
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(50))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    ciphertext: Mapped[str] = mapped_column(Text)
    hint: Mapped[str] = mapped_column(String(32))
    is_shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(), default=utcnow, server_default=NOW_DEFAULT
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(), default=utcnow, onupdate=utcnow, server_default=NOW_DEFAULT
    )


@event.listens_for(Workflow, "after_insert")
def _first_version(_mapper: Any, connection: Connection, workflow: Workflow) -> None:
    """Every new workflow starts with its graph as version 1 (published unless the
    creator said otherwise), however it was written: the API, an import, a test."""
    connection.execute(
        insert(WorkflowVersion).values(
            id=uuid.uuid4(),
            workflow_id=workflow.id,
            number=workflow.draft_version or 1,
            graph={"nodes": list(workflow.nodes or []), "edges": list(workflow.edges or [])},
            author_id=workflow.user_id,
            created_at=workflow.created_at or utcnow(),
        )
    )
