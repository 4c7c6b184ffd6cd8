"""Claims read each user's pending executions through one index, whatever the statistics.

A claim reads user by user: the users with pending work, a count of each one's
pending and running executions, and each one's oldest pending rows, in
(started_at, id) order. The partial index of migration 0008 on pending rows,
(user_id, started_at), gave that order only with a sort on `id`, which the seed's
`ix_executions_user_started` (user_id, started_at, id) gives without one: on a
new database PostgreSQL's generic plan took the seed's index and read the user's
whole history to find their few pending rows. With `id` in the partial index, it
is the only one that gives the claim's order over pending rows alone.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NAME = "ix_executions_pending_user_started"
REPLACED = "ix_executions_pending_user_id"
_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        NAME,
        "executions",
        ["user_id", "started_at", "id"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
    op.drop_index(REPLACED, table_name="executions")


def downgrade() -> None:
    op.create_index(
        REPLACED,
        "executions",
        ["user_id", "started_at"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
    op.drop_index(NAME, table_name="executions")
