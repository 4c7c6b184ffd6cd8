"""`INSERT ... ON CONFLICT` for the two databases we run on.

PostgreSQL and SQLite spell upserts the same way; SQLAlchemy gives each dialect
its own construct, so callers pick it by the session's dialect name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(dialect_name: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are not implemented for {dialect_name}")
