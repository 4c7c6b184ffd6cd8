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
    for flag in FLAGS:
        op.add_column(
            "workflows", sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # In place, also on SQLite (>= 3.35): copying `workflows` would cascade-delete the
    # executions and versions that reference it.
    for flag in FLAGS:
        op.drop_column("workflows", flag)
