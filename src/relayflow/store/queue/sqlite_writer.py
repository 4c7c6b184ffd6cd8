"""SQLite: the queue's write transactions, each run whole on one thread.

SQLite runs one writer at a time, across processes. A transaction driven from
the event loop holds the write lock across one loop round trip per statement:
under load each claim or run batch held it for ~7 ms (BEGIN to COMMIT, five to
eight statements), the worker and the API process queued behind it, and the
lock, not the CPU, capped synchronous runs. Here a transaction is handed to a
thread of its own with one connection, and runs there from `BEGIN IMMEDIATE`
to `COMMIT` without going back to the loop, in its turn (`write_turns`).

The statements stay the store's own (`claim.claim_sqlite`, `batches.write_run_batch`,
`leases`): they are coroutines over a session, and the writer runs them to the
end on a synchronous session (`ThreadSession`), which never suspends. Signals
they raise are returned to the caller, who sends them on the loop once the
transaction committed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from relayflow.store.queue import signals
from relayflow.store.queue.write_turns import TurnThread
from relayflow.stored_json import load_stored_json

T = TypeVar("T")
Work = Callable[[AsyncSession], Coroutine[Any, Any, T]]
Raised = set[tuple[str, str]]


class ThreadSession:
    """What the store's statements use of an `AsyncSession`, over a synchronous one.

    Its methods are coroutines that finish without suspending, so a coroutine that
    awaits only them runs to the end in one `send` (`run_to_end`).
    """

    def __init__(self, session: Session) -> None:
        self.sync_session = session

    async def execute(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        return self.sync_session.execute(statement, params, **kwargs)

    async def scalar(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        return self.sync_session.scalar(statement, params, **kwargs)

    def get_bind(self) -> Any:
        return self.sync_session.get_bind()


def run_to_end(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends; refuse one that does."""
    try:
        work.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    work.close()
    raise RuntimeError(
        "a write run on the SQLite writer thread awaited something other than its session"
    )


class SqliteWriter:
    """One connection and one thread for the queue's write transactions on a SQLite file."""

    def __init__(self, url: str, *, pragmas: Sequence[str] = (), timeout_s: float = 5.0) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        # Autocommit at the driver: the transaction is ours, and begins IMMEDIATE
        # (the write lock first, so what it reads cannot change before its commit).
        self._engine: Engine = create_engine(
            sync_url,
            connect_args={"timeout": timeout_s, "isolation_level": None},
            json_deserializer=load_stored_json,
        )
        event.listen(self._engine, "connect", _pragmas(pragmas))
        event.listen(self._engine, "begin", _begin_immediate)
        self._thread = TurnThread(
            str(sync_url.database), timeout_s=timeout_s, name="relayflow-sqlite-writer"
        )
        self._conn: Connection | None = None  # used on the writer thread only
        self._closed = False

    async def transaction(self, work: Work[T]) -> tuple[T, Raised]:
        """Run `work` in one transaction on the writer thread, in its turn; returns its
        result and the signals it raised (for the caller to send: it committed)."""
        if self._closed:
            raise RuntimeError("the SQLite writer is closed")
        return await self._thread.run(partial(self._run, work), write=True)

    def _run(self, work: Work[T]) -> tuple[T, Raised]:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._engine.connect()
        try:
            with Session(bind=self._conn) as session, session.begin():
                result = run_to_end(work(cast(AsyncSession, ThreadSession(session))))
                raised: Raised = session.info.pop(signals.INFO_KEY, set())
        except BaseException:
            # Whatever failed, the next transaction starts on a fresh connection.
            self._drop_connection()
            raise
        return result, raised

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken; nothing to give back
                conn.invalidate()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._thread.close(self._drop_connection)
        self._engine.dispose()


def _pragmas(pragmas: Sequence[str]) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    return on_connect


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
