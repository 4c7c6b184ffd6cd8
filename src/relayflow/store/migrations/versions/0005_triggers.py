"""Triggers: webhook signing/limits, idempotency keys, rate-limit buckets, schedules.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relayflow.store.migrations.helpers import JSON, pg_default

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    now = pg_default("now()")
    op.add_column("webhooks", sa.Column("signing_secret_salt", sa.String(64)))
    op.add_column(
        "webhooks",
        sa.Column("require_signature", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "webhooks",
        sa.Column("allow_query_key", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("webhooks", sa.Column("rate_limit_per_minute", sa.Integer()))

    op.create_table(
        "idempotency_keys",
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("execution_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", "key", name="idempotency_keys_pkey"),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="idempotency_keys_webhook_id_fkey",
            ondelete="CASCADE",
        ),
        # Checked at commit: the key row is written before the execution it names.
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="idempotency_keys_execution_id_fkey",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])

    op.create_table(
        "rate_limit_buckets",
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="rate_limit_buckets_pkey"),
    )
    op.create_index("ix_rate_limit_buckets_window_start", "rate_limit_buckets", ["window_start"])

    op.create_table(
        "schedules",
        sa.Column("id", sa.Uuid(), server_default=pg_default("gen_random_uuid()")),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("cron", sa.String(255), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False, server_default=sa.text("'UTC'")),
        sa.Column("input", JSON),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("missed_policy", sa.String(20), nullable=False, server_default=sa.text("'skip'")),
        sa.Column("next_run_at", sa.DateTime()),
        sa.Column("last_run_at", sa.DateTime()),
        sa.Column("last_execution_id", sa.Uuid()),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(), nullable=False, server_default=now),
        sa.PrimaryKeyConstraint("id", name="schedules_pkey"),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name="schedules_workflow_id_fkey",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_execution_id"],
            ["executions.id"],
            name="schedules_last_execution_id_fkey",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_schedules_workflow_id", "schedules", ["workflow_id"])
    op.create_index("ix_schedules_enabled_next_run_at", "schedules", ["enabled", "next_run_at"])


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("rate_limit_buckets")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("rate_limit_per_minute")
        batch.drop_column("allow_query_key")
        batch.drop_column("require_signature")
        batch.drop_column("signing_secret_salt")
