"""Workflow versions: every saved graph kept, a draft and a published pointer.

`workflow_versions` holds each saved graph (`{nodes, edges}`) under a number that
counts up per workflow. `workflows.draft_version` is the number of the version
the editor last saved (its graph equals the workflow's `nodes`/`edges`);
`workflows.published_version` the one webhooks and schedules run (NULL: never
published). `executions.workflow_version` records which version a run ran.

Every existing workflow gets version 1 (its current graph), draft and published,
so that its webhooks and schedules go on running what they ran before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from relayflow.store.migrations.helpers import JSON, is_postgres, pg_default

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_versions",
        sa.Column("id", sa.Uuid(), nullable=False, server_default=pg_default("gen_random_uuid()")),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("graph", JSON, nullable=False),
        sa.Column("author_id", sa.Uuid()),
        sa.Column("message", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=pg_default("now()")),
        sa.PrimaryKeyConstraint("id", name="workflow_versions_pkey"),
        sa.UniqueConstraint("workflow_id", "number", name="workflow_versions_workflow_number_key"),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name="workflow_versions_workflow_id_fkey",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name="workflow_versions_author_id_fkey",
            ondelete="SET NULL",
        ),
    )
    # Plain ADD COLUMN on both databases: nullable, no constraint, so SQLite needs
    # no table copy (which would cascade into the rows that reference these tables).
    op.add_column("workflows", sa.Column("draft_version", sa.Integer()))
    op.add_column("workflows", sa.Column("published_version", sa.Integer()))
    op.add_column("executions", sa.Column("workflow_version", sa.Integer()))
    _version_one_for_every_workflow()


def _version_one_for_every_workflow() -> None:
    bind = op.get_bind()
    workflows = sa.table(
        "workflows",
        sa.column("id", sa.Uuid()),
        sa.column("user_id", sa.Uuid()),
        sa.column("nodes", JSON),
        sa.column("edges", JSON),
        sa.column("created_at", sa.DateTime()),
        sa.column("draft_version", sa.Integer()),
        sa.column("published_version", sa.Integer()),
    )
    versions = sa.table(
        "workflow_versions",
        sa.column("id", sa.Uuid()),
        sa.column("workflow_id", sa.Uuid()),
        sa.column("number", sa.Integer()),
        sa.column("graph", JSON),
        sa.column("author_id", sa.Uuid()),
        sa.column("message", sa.Text()),
        sa.column("created_at", sa.DateTime()),
    )
    rows = bind.execute(
        sa.select(
            workflows.c.id,
            workflows.c.user_id,
            workflows.c.nodes,
            workflows.c.edges,
            workflows.c.created_at,
        )
    ).all()
    now = sa.func.now() if is_postgres() else sa.func.datetime("now")
    for row in rows:
        bind.execute(
            versions.insert().values(
                id=uuid.uuid4(),
                workflow_id=row.id,
                number=1,
                graph={"nodes": list(row.nodes or []), "edges": list(row.edges or [])},
                author_id=row.user_id,
                message="The workflow as it was when versions were introduced",
                created_at=row.created_at if row.created_at is not None else now,
            )
        )
    op.execute(workflows.update().values(draft_version=1, published_version=1))


def downgrade() -> None:
    # SQLite >= 3.35 drops a plain column in place (no table copy).
    op.drop_column("executions", "workflow_version")
    op.drop_column("workflows", "published_version")
    op.drop_column("workflows", "draft_version")
    op.drop_table("workflow_versions")
