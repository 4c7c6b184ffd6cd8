"""Credentials and personal API tokens.

`api_tokens` keeps only a SHA-256 of each token; `credentials` keeps its secret
values encrypted under the credentials key (see relayflow.vault);
`agent_templates.credential_id` names the provider credential a template's agents use.

Revision ID: 0009
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relayflow.store.migrations.helpers import JSON, pg_default

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), server_default=pg_default("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token_prefix", sa.String(16), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=pg_default("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="api_tokens_pkey"),
        sa.UniqueConstraint("token_hash", name="api_tokens_token_hash_key"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="api_tokens_user_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "credentials",
        sa.Column("id", sa.Uuid(), server_default=pg_default("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(32), nullable=False),
        sa.Column("is_shared", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=pg_default("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=pg_default("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="credentials_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="credentials_user_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_credentials_user_id", "credentials", ["user_id"])
    # No foreign key (SQLite would rebuild the table): deleting a credential clears it.
    op.add_column("agent_templates", sa.Column("credential_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("agent_templates", "credential_id")
    op.drop_table("credentials")
    op.drop_table("api_tokens")
