"""Shared pieces for migration scripts."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def pg_default(sql: str) -> sa.TextClause | None:
    """A server default on PostgreSQL; SQLite gets its values from the application."""
    return sa.text(sql) if is_postgres() else None
