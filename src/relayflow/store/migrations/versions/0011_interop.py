"""Interoperability: workflows offered as chat models and as MCP tools.

Two flags on workflows, both off by default: `chat_model` (served as the model
`workflow/<id>` on the OpenAI-compatible `/v1` API) and `mcp_tool` (listed as a
tool at `/mcp`).

Revision ID: 0011
Revises: 0010 (the head on main when this was written)
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FLAGS = ("chat_model", "mcp_tool")


def upgrade() -> None:
    with op.batch_alter_table("workflows") as batch:
        for flag in FLAGS:
            batch.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade() -> None:
    with op.batch_alter_table("workflows") as batch:
        for flag in FLAGS:
            batch.drop_column(flag)
