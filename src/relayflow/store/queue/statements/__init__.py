"""Every statement of the queue's hot paths, named, in this package: one module per
concern (`starts`: the pending row and the intake's reads; `claims`; `batches`: the
journal's run batch), the few they share here.

Statements written for one database are named after it (`PG_...`, `SQLITE_...`);
where both databases run the same idea, a mapping by dialect name
(`"postgresql"`, `"sqlite"`) holds both, built from one definition where the SQL
allows. Parameters are `:name` (SQLAlchemy's `text()` and sqlite3 take them as
is); `NumberedStatement.from_named` turns them into asyncpg's `$1, $2, ...`.
"""

from __future__ import annotations

from collections.abc import Mapping

POSTGRES, SQLITE = "postgresql", "sqlite"

# Per-transaction durability: writes safe to lose in a crash of the database
# server (claims, lease renewals, starts of attempts) need not wait for the disk.
RELAX_DURABILITY: Mapping[str, str | None] = {
    POSTGRES: "SET LOCAL synchronous_commit = off",
    SQLITE: None,
}


# ----------------------------------------------------------------- the backlog
# Pending executions and the oldest one's start: served by the partial index on
# pending rows (migration 0008), so it costs the same whatever the history.
BACKLOG = """
SELECT count(*) AS pending, min(started_at) AS oldest FROM executions WHERE status = 'pending'
"""
