"""Reading a long history filtered by workflow and status: one page of rows.

`GET /api/v1/executions?workflow_id=...&status=...` read the workflow's side of
the list along `ix_executions_workflow_started` and tested each row's status, or,
when the table's statistics were behind (right after a burst or a bulk load,
before autovacuum's ANALYZE), combined the seed's workflow and status indexes in
a bitmap: with a million finished runs of one workflow that read both indexes
whole, ~40 ms a page. `ix_executions_workflow_status_started` (workflow_id,
status, started_at, id) gives that page in order whatever the statistics say.

The seed's own indexes stay as written.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NAME = "ix_executions_workflow_status_started"


def upgrade() -> None:
    op.create_index(NAME, "executions", ["workflow_id", "status", "started_at", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="executions")
