"""Retention and parallelism per workflow; indexes that keep pruning cheap.

- `workflows.retention_days`: finished executions of this workflow older than this
  many days are deleted (NULL: the server's `RELAYFLOW_RETENTION_DAYS`).
- `workflows.max_parallel_nodes`: nodes one execution of this workflow runs at once
  (NULL: the server's `RELAYFLOW_MAX_PARALLEL_NODES`; never above the server ceiling).
- Deleting an execution sets `executions.rerun_of` of its reruns to NULL and
  cascades into `idempotency_keys`; without an index each deleted row would scan
  those tables. Both indexes are partial (only rows that point somewhere).

Columns are added, never altered: the seed's columns stay as written.

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None

RERUN_OF_SET = sa.text("rerun_of IS NOT NULL")


def upgrade() -> None:
    # Plain ADD COLUMN on SQLite too: a batch copy of `workflows` would cascade-delete
    # every execution.
    op.add_column("workflows", sa.Column("retention_days", sa.Integer()))
    op.add_column("workflows", sa.Column("max_parallel_nodes", sa.Integer()))
    op.create_index(
        "ix_executions_rerun_of",
        "executions",
        ["rerun_of"],
        postgresql_where=RERUN_OF_SET,
        sqlite_where=RERUN_OF_SET,
    )
    op.create_index("ix_idempotency_keys_execution_id", "idempotency_keys", ["execution_id"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_execution_id", table_name="idempotency_keys")
    op.drop_index("ix_executions_rerun_of", table_name="executions")
    op.drop_column("workflows", "max_parallel_nodes")
    op.drop_column("workflows", "retention_days")
