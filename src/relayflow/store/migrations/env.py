"""Alembic environment: always driven programmatically with a live connection."""

from __future__ import annotations

from alembic import context

from relayflow.store import models  # noqa: F401  (registers the tables)
from relayflow.store.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `relayflow db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
