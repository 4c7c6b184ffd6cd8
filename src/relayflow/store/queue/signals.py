"""Wake-up signals between sessions: NOTIFY on PostgreSQL, an in-process hub on SQLite.

A signal raised in a session goes out only when that session commits (never
after a rollback):
- SQLite: fired to callbacks registered in this process, and sent to the other
  processes on the same database file over the local bus (`local_bus`).
- PostgreSQL: sent as NOTIFY right after the commit, by a per-process notifier,
  in its own tiny transaction that does not wait for the disk. A NOTIFY inside
  the caller's transaction would make PostgreSQL serialise that commit, disk
  flush included, with every other notifying transaction (a global lock), which
  caps the whole installation at one commit per flush. Signals raised while a
  NOTIFY is in flight are sent together by the next one. The rows are durable
  before the signal; a signal lost with a crashed process only delays work
  until the next poll.

Channels: `relayflow_work` (pending executions exist), `relayflow_cancel`
(payload: an execution id), `relayflow_events` (payload: execution ids with new
events, comma-separated), `relayflow_outcomes` (payload: execution ids that
settled, i.e. finished or paused for an approval, comma-separated),
`relayflow_settled` (payload: one settled execution's id, a space and its status
payload as JSON, sent instead of `relayflow_outcomes` when it is small: the waiting
request then reads nothing), `relayflow_slots` (a provider slot was released).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from relayflow.store.queue.drivers import asyncpg_dsn
from relayflow.store.queue.local_bus import LocalBus

log = logging.getLogger(__name__)

WORK = "relayflow_work"
CANCEL = "relayflow_cancel"
EVENTS = "relayflow_events"
SLOTS = "relayflow_slots"
OUTCOMES = "relayflow_outcomes"
SETTLED = "relayflow_settled"

Callback = Callable[[str], None]
# Channels whose payloads are execution ids, sent joined by commas.
JOINED = frozenset({EVENTS, OUTCOMES})
# Where a session keeps the signals raised in it until it commits.
INFO_KEY = "relayflow.signals"
# A NOTIFY payload is limited to 8000 bytes.
MAX_PAYLOAD = 7900
# A settled execution's status payload goes with its signal up to this size; a larger
# one (a long output) is announced by id and read by the waiting request.
MAX_INLINE_SETTLED = 2000


def settled_signal(execution_id: uuid.UUID, payload: Mapping[str, Any]) -> tuple[str, str]:
    """How to announce a settled execution: with its status payload when that is small
    and plain JSON, else by id on `OUTCOMES` (the waiting request reads the row)."""
    try:
        text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):  # not plain JSON: read from the row
        text = None
    if text is None or len(text) > MAX_INLINE_SETTLED:  # ASCII: characters are bytes
        return OUTCOMES, str(execution_id)
    return SETTLED, f"{execution_id} {text}"


class LocalHub:
    """Callbacks per channel inside this process (SQLite); one per `Signals`."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callback]] = defaultdict(list)

    def add(self, channel: str, callback: Callback) -> None:
        self._callbacks[channel].append(callback)

    def remove(self, channel: str, callback: Callback) -> None:
        callbacks = self._callbacks.get(channel, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def fire(self, channel: str, payload: str) -> None:
        for callback in list(self._callbacks.get(channel, ())):
            callback(payload)


class PgNotifier:
    """Sends NOTIFYs for one database, coalescing whatever is raised meanwhile.

    Uses its own connection, outside the pool, whose commits do not wait for the
    disk: one notification batch is then a single round trip.
    """

    def __init__(self, engine: Engine) -> None:
        self._dsn = asyncpg_dsn(engine.url.render_as_string(hide_password=False))
        self._conn: Any = None
        self._pending: dict[str, set[str]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    def send(self, channel: str, payload: str) -> None:
        self._pending[channel].add(payload)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def flush(self) -> None:
        """Wait until everything raised so far has been sent."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, defaultdict(set)
            channels, payloads = [], []
            for channel, values in batch.items():
                for payload in _joined(values, all_or_nothing=channel not in JOINED):
                    channels.append(channel)
                    payloads.append(payload)
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        self._dsn, server_settings={"synchronous_commit": "off"}
                    )
                await self._conn.execute(
                    "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)",
                    channels,
                    payloads,
                )
            except Exception:  # everyone also polls: a lost wake-up only delays
                log.warning("could not send notifications", exc_info=True)
                self.close()


def _joined(values: set[str], *, all_or_nothing: bool) -> list[str]:
    """Payloads for one channel: ids joined by commas within the size limit.

    For channels whose listeners treat a payload as one item (cancel, slots),
    each distinct payload is sent alone.
    """
    if all_or_nothing:
        return sorted(values)
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for value in sorted(values):
        if current and size + len(value) + 1 > MAX_PAYLOAD:
            chunks.append(",".join(current))
            current, size = [], 0
        current.append(value)
        size += len(value) + 1
    if current:
        chunks.append(",".join(current))
    return chunks


class Signals:
    """The signals of one database, owned by its `Database`: the in-process hub (SQLite)
    or the NOTIFY sender (PostgreSQL, one per event loop: its connection belongs to a
    loop), and the listeners that send what a session raised once it commits.

    The listeners are registered on `session_class`, the database's own session
    class, so sessions of other databases in the process are left alone.
    """

    def __init__(self, engine: AsyncEngine, session_class: type[Session]) -> None:
        self._engine = engine.sync_engine
        self.hub = LocalHub()
        self._notifiers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PgNotifier] = (
            weakref.WeakKeyDictionary()
        )
        database = engine.url.database
        # SQLite on a file: the other processes on that file hear signals through the bus.
        self.bus: LocalBus | None = (
            LocalBus(database)
            if not self.is_postgres and database and database != ":memory:"
            else None
        )
        event.listen(session_class, "after_commit", self._send_after_commit)
        event.listen(session_class, "after_rollback", _drop_after_rollback)

    @property
    def is_postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def send_committed(self, channel: str, payload: str = "") -> None:
        """Raise `channel` for a write already committed outside a session (the direct paths)."""
        self._send({(channel, payload)})

    def send_raised(self, raised: set[tuple[str, str]]) -> None:
        """Send the signals a transaction run outside a session of this database raised,
        once it committed."""
        if raised:
            self._send(raised)

    async def flush(self) -> None:
        """Wait until the signals raised in this loop have been sent."""
        notifier = self._notifiers.get(asyncio.get_running_loop())
        if notifier is not None:
            await notifier.flush()

    def close(self) -> None:
        for notifier in list(self._notifiers.values()):
            notifier.close()
        self._notifiers.clear()
        if self.bus is not None:
            self.bus.close()

    def _notifier(self) -> PgNotifier:
        loop = asyncio.get_running_loop()
        notifier = self._notifiers.get(loop)
        if notifier is None:
            notifier = self._notifiers[loop] = PgNotifier(self._engine)
        return notifier

    def _send(self, pending: set[tuple[str, str]]) -> None:
        if self.is_postgres:
            notifier = self._notifier()
            for channel, payload in sorted(pending):
                notifier.send(channel, payload)
            return
        ordered = sorted(pending)
        for channel, payload in ordered:
            self.hub.fire(channel, payload)
        if self.bus is not None:
            self.bus.send(ordered)

    def _send_after_commit(self, session: Session) -> None:
        pending: set[tuple[str, str]] | None = session.info.pop(INFO_KEY, None)
        if pending:
            self._send(pending)


def _drop_after_rollback(session: Session, *_: Any) -> None:
    session.info.pop(INFO_KEY, None)


def _engine_of(session: AsyncSession | Session) -> Engine:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    bind = sync.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def dialect_of(session: AsyncSession | Session) -> str:
    """The session's database: "postgresql" or "sqlite"."""
    return str(_engine_of(session).dialect.name)


def is_postgres_session(session: AsyncSession | Session) -> bool:
    return dialect_of(session) == "postgresql"


async def signal(session: AsyncSession, channel: str, payload: str = "") -> None:
    """Raise `channel` once the session's transaction commits."""
    pending: set[tuple[str, str]] = session.sync_session.info.setdefault(INFO_KEY, set())
    pending.add((channel, payload))
