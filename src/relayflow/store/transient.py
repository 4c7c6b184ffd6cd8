"""Database failures that say nothing about the data: worth retrying, or answering 503.

Connection trouble (refused, reset, dropped by a server restart), a server
shutting down, starting up or out of connections, a deadlock, and SQLite's
"database is locked" once `busy_timeout` ran out.
"""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# asyncpg's own errors (the direct PostgreSQL paths).
ASYNCPG_TRANSIENT = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,  # includes "the database system is starting up"
    asyncpg.exceptions.OperatorInterventionError,  # includes the shutdown of the server
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
)
# What a failure of the database may surface as, for exception handlers to register.
DATABASE_FAILURES: tuple[type[Exception], ...] = (
    DBAPIError,
    *ASYNCPG_TRANSIENT,
    sqlite3.OperationalError,  # the direct SQLite path (store.direct_sqlite)
    ConnectionError,
)


def is_transient(exc: BaseException) -> bool:
    """A database failure worth retrying as is (connection trouble, SQLite busy)."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if isinstance(exc, ASYNCPG_TRANSIENT):
        return True
    if isinstance(exc, sqlite3.OperationalError):  # locked or busy; not a missing table
        return any(word in str(exc) for word in ("locked", "busy"))
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
