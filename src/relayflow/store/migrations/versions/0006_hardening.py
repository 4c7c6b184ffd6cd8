"""Hardening: sign-in counters per account and per address, seen webhook signatures.

`login_counters` replaces `login_failures` (per email only, read then written);
its rows are short-lived counters, so nothing is carried over.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("login_failures")
    op.create_table(
        "login_counters",
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name="login_counters_pkey"),
    )
    op.create_index("ix_login_counters_window_ends_at", "login_counters", ["window_ends_at"])

    op.create_table(
        "seen_signatures",
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", "signature", name="seen_signatures_pkey"),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="seen_signatures_webhook_id_fkey",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_seen_signatures_expires_at", "seen_signatures", ["expires_at"])


def downgrade() -> None:
    op.drop_table("seen_signatures")
    op.drop_table("login_counters")
    op.create_table(
        "login_failures",
        sa.Column("email", sa.String(255), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
    )
