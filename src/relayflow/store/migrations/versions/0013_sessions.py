"""Sign-in sessions end when the password changes.

- `users.session_generation`: bumped on every password change (by the user or an
  operator's reset). A sign-in token carries the generation it was issued under and
  stops working once the account's moved on. Personal API tokens do not use it.

Columns are added, never altered: the seed's columns stay as written.

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # Plain DROP COLUMN on SQLite too: a batch copy of `users` would cascade-delete
    # everything the accounts own.
    op.drop_column("users", "session_generation")
