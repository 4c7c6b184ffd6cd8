"""Queue speed: indexes over live executions only, and storage settings for churn.

The queue's statements (claims, the per-user counts, the backlog, the reaper)
read pending and processing rows only. Partial indexes over those rows stay as
small as the live queue, whatever the history, and the planner picks them
without fresh statistics. On PostgreSQL, `executions` rows are updated several
times each (claim, fence, lease renewals, outcome): a lower fillfactor leaves
room in each page for updates that change no indexed column (fences, renewals)
to stay on the page (HOT, no new index entries), and autovacuum/analyze run
after a fixed number of changed rows rather than a fraction of the table, so a
burst is cleaned up and re-planned promptly on a table with a long history.
The seed's indexes stay as they are.

Revision ID: 0008
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0011"
branch_labels = None
depends_on = None

_LIVE_INDEXES = (
    ("ix_executions_pending_started_at", ["started_at"], "pending"),
    ("ix_executions_pending_user_id", ["user_id", "started_at"], "pending"),
    ("ix_executions_processing_user_id", ["user_id"], "processing"),
)

# Per-table storage settings (PostgreSQL): vacuum and analyze after about a
# thousand changed rows, whatever the size of the table.
_STORAGE = {
    "executions": {
        "fillfactor": "70",
        "autovacuum_vacuum_scale_factor": "0",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_vacuum_insert_scale_factor": "0",
        "autovacuum_vacuum_insert_threshold": "5000",
        "autovacuum_analyze_scale_factor": "0",
        "autovacuum_analyze_threshold": "1000",
        "autovacuum_vacuum_cost_delay": "0",
    },
    "node_runs": {
        "fillfactor": "85",
        "autovacuum_vacuum_scale_factor": "0",
        "autovacuum_vacuum_threshold": "5000",
        "autovacuum_analyze_scale_factor": "0",
        "autovacuum_analyze_threshold": "5000",
    },
    "execution_events": {
        "autovacuum_vacuum_insert_scale_factor": "0",
        "autovacuum_vacuum_insert_threshold": "20000",
        "autovacuum_analyze_scale_factor": "0",
        "autovacuum_analyze_threshold": "20000",
    },
}


def upgrade() -> None:
    for name, columns, status in _LIVE_INDEXES:
        where = sa.text(f"status = '{status}'")
        op.create_index(name, "executions", columns, postgresql_where=where, sqlite_where=where)
    if op.get_bind().dialect.name == "postgresql":
        for table, settings in _STORAGE.items():
            values = ", ".join(f"{key} = {value}" for key, value in settings.items())
            op.execute(f"ALTER TABLE {table} SET ({values})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, settings in _STORAGE.items():
            op.execute(f"ALTER TABLE {table} RESET ({', '.join(settings)})")
    for name, _, _ in reversed(_LIVE_INDEXES):
        op.drop_index(name, table_name="executions")
