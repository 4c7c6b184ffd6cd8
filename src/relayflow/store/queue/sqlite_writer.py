"""SQLite: the queue's write transactions, each run whole on one thread.

SQLite runs one writer at a time, across processes. A transaction driven from
the event loop holds the write lock across one loop round trip per statement:
under load each claim or run batch held it for ~7 ms (BEGIN to COMMIT, five to
eight statements), the worker and the API process queued behind it, and the
lock, not the CPU, capped synchronous runs. Here a transaction is a plain
function of one connection (`sqlite_writes`), handed to a thread of its own and
run there from `BEGIN IMMEDIATE` (the write lock first, so what it reads cannot
change before its commit) to `COMMIT`, in its turn (`write_turns`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

from sqlalchemy.engine import make_url

from relayflow.store.queue.write_turns import TurnThread

T = TypeVar("T")


class SqliteWriter:
    """One connection and one thread for the queue's write transactions on a SQLite file."""

    def __init__(self, url: str, *, pragmas: Sequence[str] = (), timeout_s: float = 5.0) -> None:
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("the SQLite writer needs a database file")
        self._path = database
        self._pragmas = pragmas
        self._timeout_s = timeout_s
        self._thread = TurnThread(database, timeout_s=timeout_s, name="relayflow-sqlite-writer")
        self._conn: sqlite3.Connection | None = None  # used on the writer thread only
        self._closed = False

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in one transaction on the writer thread, in its turn:
        committed if it returns, rolled back if it raises."""
        if self._closed:
            raise RuntimeError("the SQLite writer is closed")
        return await self._thread.run(partial(self._run, work), write=True)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            # Autocommit at the driver: the transaction is ours.
            conn = sqlite3.connect(self._path, timeout=self._timeout_s, isolation_level=None)
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._conn = conn
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            # Whatever failed, the next transaction starts on a fresh connection.
            self._drop_connection()
            raise
        return result

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # rolls back what it had begun

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._thread.close(self._drop_connection)
