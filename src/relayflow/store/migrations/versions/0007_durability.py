"""Durability: a finished node is recorded at most once.

A partial unique index on node_runs (execution_id, node_id, iteration) for
completed rows. Completions recorded twice before this revision (a worker that
kept running through a database outage, issue 12) would block the index: the
first one (earliest finished) stays completed, the later ones are marked
`cancelled` with a note, so that history keeps both attempts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEX = "uq_node_runs_completed"
COMPLETED = sa.text("status = 'completed'")
DUPLICATE_NOTE = "a second completion of this node, recorded before revision 0007; not used"


def upgrade() -> None:
    # Every completed row that is not the first (earliest finished, then lowest id)
    # of its (execution, node, iteration).
    op.execute(
        sa.text(
            """
            UPDATE node_runs SET status = 'cancelled', error = :note
            WHERE status = 'completed' AND EXISTS (
                SELECT 1 FROM node_runs first
                WHERE first.execution_id = node_runs.execution_id
                  AND first.node_id = node_runs.node_id
                  AND first.iteration = node_runs.iteration
                  AND first.status = 'completed'
                  AND (COALESCE(first.finished_at, first.started_at)
                           < COALESCE(node_runs.finished_at, node_runs.started_at)
                       OR (COALESCE(first.finished_at, first.started_at)
                               = COALESCE(node_runs.finished_at, node_runs.started_at)
                           AND first.id < node_runs.id))
            )
            """
        ).bindparams(note=DUPLICATE_NOTE)
    )
    op.create_index(
        INDEX,
        "node_runs",
        ["execution_id", "node_id", "iteration"],
        unique=True,
        postgresql_where=COMPLETED,
        sqlite_where=COMPLETED,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="node_runs")
