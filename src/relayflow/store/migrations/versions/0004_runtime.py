"""The durable runtime: execution leases and bookkeeping, live events, provider slots.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from relayflow.store.migrations.helpers import JSON, is_postgres

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ZERO = sa.text("0")


def _execution_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("user_id", sa.Uuid()),
        sa.Column("graph", JSON),
        sa.Column("trigger", JSON),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_token", sa.BigInteger(), nullable=False, server_default=ZERO),
        sa.Column("lease_expires_at", sa.DateTime()),
        sa.Column("lost_leases", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column(
            "cancel_requested", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
        sa.Column("decisions", JSON),
        sa.Column("rerun_of", sa.Uuid()),
        sa.Column("rerun_from_node", sa.String(255)),
        sa.Column("input_tokens", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("output_tokens", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default=ZERO),
        sa.Column("updated_at", sa.DateTime()),
        sa.Column("waiting_on", JSON),
        sa.Column("claimed_at", sa.DateTime()),
    ]


# (column, referenced table, constraint name): both SET NULL on delete.
FOREIGN_KEYS = (
    ("user_id", "users", "executions_user_id_fkey"),
    ("rerun_of", "executions", "executions_rerun_of_fkey"),
)


@contextmanager
def _node_runs_kept_on_sqlite() -> Iterator[None]:
    """SQLite alters a table by copying it and dropping the original, and that drop
    cascades into node_runs; keep those rows aside and put them back afterwards."""
    if is_postgres():
        yield
        return
    op.execute("CREATE TEMP TABLE _node_runs_0004 AS SELECT * FROM node_runs")
    yield
    op.execute("INSERT INTO node_runs SELECT * FROM _node_runs_0004")
    op.execute("DROP TABLE _node_runs_0004")


def upgrade() -> None:
    with _node_runs_kept_on_sqlite(), op.batch_alter_table("executions") as batch:
        for column in _execution_columns():
            batch.add_column(column)
        for column_name, table, name in FOREIGN_KEYS:
            batch.create_foreign_key(name, table, [column_name], ["id"], ondelete="SET NULL")
    if not is_postgres():  # the copy lost the seed index's DESC
        op.drop_index("idx_executions_started_at", "executions")
        op.create_index("idx_executions_started_at", "executions", [sa.text("started_at DESC")])
    op.create_index("ix_executions_status_started_at", "executions", ["status", "started_at"])
    op.create_index("ix_executions_user_id", "executions", ["user_id"])

    op.create_table(
        "execution_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            primary_key=True,
        ),
        sa.Column("execution_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("payload", JSON),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="execution_events_pkey"),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="execution_events_execution_id_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_execution_events_execution_id_id", "execution_events", ["execution_id", "id"]
    )

    op.create_table(
        "provider_slots",
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(255)),
        sa.Column("expires_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("provider", "slot", name="provider_slots_pkey"),
    )


def downgrade() -> None:
    op.drop_table("provider_slots")
    op.drop_table("execution_events")
    op.drop_index("ix_executions_user_id", "executions")
    op.drop_index("ix_executions_status_started_at", "executions")
    with _node_runs_kept_on_sqlite(), op.batch_alter_table("executions") as batch:
        for _, _, name in FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")
        for column in reversed(_execution_columns()):
            batch.drop_column(column.name)
