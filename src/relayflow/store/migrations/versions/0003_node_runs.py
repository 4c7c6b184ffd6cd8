"""node_runs: one row per attempt of one node of one execution.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relayflow.store.migrations.helpers import JSON, pg_default

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node_runs",
        sa.Column("id", sa.Uuid(), server_default=pg_default("gen_random_uuid()")),
        sa.Column("execution_id", sa.Uuid(), nullable=False),
        sa.Column("node_id", sa.String(255), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("input", JSON),
        sa.Column("output", JSON),
        sa.Column("error", sa.Text()),
        sa.Column("active_handles", JSON),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("duration_ms", sa.Integer()),
        sa.Column("input_tokens", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("output_tokens", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default=sa.text("0")),
        sa.Column("details", JSON),
        sa.PrimaryKeyConstraint("id", name="node_runs_pkey"),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="node_runs_execution_id_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_node_runs_execution_node", "node_runs", ["execution_id", "node_id", "iteration"]
    )


def downgrade() -> None:
    op.drop_table("node_runs")
