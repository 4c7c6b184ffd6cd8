"""The seed schema: users, workflows, executions, agent_templates, webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relayflow.store.migrations.helpers import JSON, pg_default

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    uuid_default = pg_default("gen_random_uuid()")
    now = pg_default("now()")
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=uuid_default),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("role", sa.String(50), server_default=sa.text("'user'")),
        sa.Column("created_at", sa.DateTime(), server_default=now),
        sa.Column("updated_at", sa.DateTime(), server_default=now),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        sa.UniqueConstraint("email", name="users_email_key"),
    )
    op.create_table(
        "workflows",
        sa.Column("id", sa.Uuid(), server_default=uuid_default),
        sa.Column("user_id", sa.Uuid()),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("nodes", JSON, nullable=False),
        sa.Column("edges", JSON, nullable=False),
        sa.Column("metadata", JSON, server_default=sa.text("'{}'")),
        sa.Column("is_public", sa.Boolean(), server_default=sa.text("false")),
        sa.Column("created_at", sa.DateTime(), server_default=now),
        sa.Column("updated_at", sa.DateTime(), server_default=now),
        sa.PrimaryKeyConstraint("id", name="workflows_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="workflows_user_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.Uuid(), server_default=uuid_default),
        sa.Column("workflow_id", sa.Uuid()),
        sa.Column("status", sa.String(50), nullable=False),
        sa.Column("input", JSON),
        sa.Column("output", JSON),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", sa.DateTime(), server_default=now),
        sa.Column("completed_at", sa.DateTime()),
        sa.Column("duration_ms", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="executions_pkey"),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name="executions_workflow_id_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "agent_templates",
        sa.Column("id", sa.Uuid(), server_default=uuid_default),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(255), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("system_prompt", sa.Text()),
        sa.Column("parameters", JSON, server_default=sa.text("'{}'")),
        sa.Column("is_system", sa.Boolean(), server_default=sa.text("false")),
        sa.Column("created_at", sa.DateTime(), server_default=now),
        # Extra: the owner of a user template (NULL for system templates).
        sa.Column("user_id", sa.Uuid()),
        sa.PrimaryKeyConstraint("id", name="agent_templates_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="agent_templates_user_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), server_default=uuid_default),
        sa.Column("workflow_id", sa.Uuid()),
        sa.Column("api_key", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true")),
        sa.Column("created_at", sa.DateTime(), server_default=now),
        # Extras: a label, the key's visible prefix, and when it last changed.
        sa.Column("name", sa.String(255)),
        sa.Column("key_prefix", sa.String(16)),
        sa.Column("updated_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name="webhooks_pkey"),
        sa.UniqueConstraint("api_key", name="webhooks_api_key_key"),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name="webhooks_workflow_id_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_index("idx_users_email", "users", ["email"])
    op.create_index("idx_workflows_user_id", "workflows", ["user_id"])
    op.create_index("idx_workflows_created_at", "workflows", [sa.text("created_at DESC")])
    op.create_index("idx_executions_workflow_id", "executions", ["workflow_id"])
    op.create_index("idx_executions_status", "executions", ["status"])
    op.create_index("idx_executions_started_at", "executions", [sa.text("started_at DESC")])
    op.create_index("idx_webhooks_api_key", "webhooks", ["api_key"])
    op.create_index("ix_agent_templates_user_id", "agent_templates", ["user_id"])


def downgrade() -> None:
    for table in ("webhooks", "agent_templates", "executions", "workflows", "users"):
        op.drop_table(table)
