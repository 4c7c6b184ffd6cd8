"""Reading a long history: the executions list costs one page, not the whole history.

`GET /api/v1/executions` reads a user's executions newest first. With only
`ix_executions_user_id` and the seed's `idx_executions_workflow_id`, each page
fetched every execution the user can see and sorted them (1M rows: a second or
more per page). These indexes give both sides of "yours" (started by you, or of a
workflow you own) in page order, so a page reads about a page of rows:

- `ix_executions_user_started` (user_id, started_at, id), which also serves what
  `ix_executions_user_id` served (dropped);
- `ix_executions_workflow_started` (workflow_id, started_at, id).

The seed's own indexes stay as written.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

CREATED = {
    "ix_executions_user_started": ["user_id", "started_at", "id"],
    "ix_executions_workflow_started": ["workflow_id", "started_at", "id"],
}


def upgrade() -> None:
    for name, columns in CREATED.items():
        op.create_index(name, "executions", columns)
    op.drop_index("ix_executions_user_id", table_name="executions")


def downgrade() -> None:
    op.create_index("ix_executions_user_id", "executions", ["user_id"])
    for name in CREATED:
        op.drop_index(name, table_name="executions")
