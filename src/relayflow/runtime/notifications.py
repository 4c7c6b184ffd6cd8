"""One listening connection per process: PostgreSQL LISTEN, or the in-process hub on SQLite.

A process listens only to the channels it needs (`listen()`): a worker to work
and cancel signals, an API process to events once someone follows a run. Every
notification costs each listening process a wake-up, so this matters when many
processes share one database.

Callbacks are plain functions called on the event loop with the notification's
payload; they must return quickly (set an asyncio.Event, no I/O). When the
PostgreSQL connection drops, it is re-established in the background and every
callback is called with the payload `""`, meaning "something may have been
missed, look again".

SQLite has no NOTIFY. Signals raised in this process arrive through the
in-process hub at once, and those of other processes on the same file (the
supervised `relayflow serve`, or `relayflow worker` beside `serve --no-worker`)
through the local bus (`store.queue.local_bus`), as they are sent. As a safety
net for a lost datagram, commits by other processes are also noticed by
watching `PRAGMA data_version` (every 20 ms without the bus, every 0.5 s with
it), which then calls the work, event and outcome callbacks with `""`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import asyncpg

from relayflow.runtime.reconnects import ConnectionWatch
from relayflow.store.db import Database
from relayflow.store.queue import signals
from relayflow.store.queue.drivers import DirectSqlite, asyncpg_dsn
from relayflow.store.queue.local_bus import Receiver

log = logging.getLogger(__name__)

Callback = Callable[[str], None]
RECONNECT_DELAY_S = 1.0
# Without the bus: 10 ms of added start latency on average, for about 1% of a core
# per idle process. With it, the watch only covers a lost datagram.
SQLITE_CHANGE_POLL_S = 0.02
SQLITE_CHANGE_POLL_WITH_BUS_S = 0.5
# Channels whose listeners look again on "" when another process committed.
SQLITE_WATCHED = (signals.WORK, signals.EVENTS, signals.OUTCOMES)


class Notifications:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._callbacks: dict[str, list[Callback]] = defaultdict(list)
        self._wanted: set[str] = set()  # channels to listen to (again after a reconnect)
        self._listening: set[str] = set()
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._reconnect: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False
        # SQLite: one hub callback per channel, kept to unregister it on stop.
        self._local: dict[str, Callback] = {}
        self._watch: asyncio.Task[None] | None = None
        self._watch_stop = asyncio.Event()
        self._bus_receiver: Receiver | None = None
        self._connection_watch = ConnectionWatch("listener")

    @property
    def is_postgres(self) -> bool:
        return not self._db.is_sqlite

    def add(self, channel: str, callback: Callback) -> None:
        self._callbacks[channel].append(callback)

    def remove(self, channel: str, callback: Callback) -> None:
        if callback in self._callbacks.get(channel, []):
            self._callbacks[channel].remove(callback)

    async def listen(self, channel: str) -> None:
        """Start receiving `channel`; returns once notifications on it will arrive."""
        self._wanted.add(channel)
        if not self._started:
            return  # start() listens to everything wanted
        if not self.is_postgres:
            self._listen_locally(channel)
            return
        async with self._lock:
            if self._conn is not None and channel not in self._listening:
                await self._conn.add_listener(channel, self._on_notify)
                self._listening.add(channel)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._stopping = False
        if self.is_postgres:
            await self._connect()
        else:
            for channel in self._wanted:
                self._listen_locally(channel)
            bus = self._db.signals.bus
            self._bus_receiver = bus.receive(self._from_other_process) if bus else None
            self._watch_stop.clear()
            self._watch = asyncio.create_task(self._watch_other_processes())

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._stopping = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            await asyncio.gather(self._reconnect, return_exceptions=True)
            self._reconnect = None
        if self._watch is not None:  # let it finish its query (SQLite runs it in a thread)
            self._watch_stop.set()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._listening.clear()
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except (OSError, TimeoutError, asyncpg.PostgresError):
                conn.terminate()
        for channel, callback in self._local.items():
            self._db.signals.hub.remove(channel, callback)
        self._local.clear()
        if self._bus_receiver is not None:
            self._bus_receiver.close()
            self._bus_receiver = None

    # ------------------------------------------------------------ internals
    def _listen_locally(self, channel: str) -> None:
        if channel in self._local:
            return

        def dispatch(payload: str) -> None:
            self._dispatch(channel, payload)

        self._local[channel] = dispatch
        self._db.signals.hub.add(channel, dispatch)

    def _from_other_process(self, channel: str, payload: str) -> None:
        if channel in self._local:  # what this process listens to
            self._dispatch(channel, payload)

    def _dispatch(self, channel: str, payload: str) -> None:
        for callback in list(self._callbacks.get(channel, ())):
            try:
                callback(payload)
            except Exception:  # a faulty subscriber must not silence the others
                log.exception("notification callback failed on %s", channel)

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self._dispatch(channel, payload)

    def _on_terminate(self, _conn: Any) -> None:
        if self._stopping:
            return
        self._connection_watch.failed(ConnectionError("the LISTEN connection was closed"))
        self._conn = None
        self._listening.clear()
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _connect(self) -> None:
        async with self._lock:
            conn = await asyncpg.connect(asyncpg_dsn(self._db.url))
            for channel in sorted(self._wanted):
                await conn.add_listener(channel, self._on_notify)
            conn.add_termination_listener(self._on_terminate)
            self._conn = conn
            self._listening = set(self._wanted)

    async def _watch_other_processes(self) -> None:
        """SQLite: notice commits by other processes (the version moves on any commit
        by another connection, so this also fires for this process's own pool)."""
        seen: int | None = None
        while not self._watch_stop.is_set():
            # A connection of its own (the version is per connection), used directly:
            # one hand-off to its thread per look, not SQLAlchemy's several.
            watch = DirectSqlite(self._db.url)
            try:
                while not self._watch_stop.is_set():
                    row = await watch.fetchone("PRAGMA data_version", ())
                    version = row[0] if row is not None else None
                    if seen is not None and version != seen:
                        for channel in SQLITE_WATCHED:
                            if channel in self._wanted:
                                self._dispatch(channel, "")
                    seen = version
                    await self._pause(
                        SQLITE_CHANGE_POLL_S
                        if self._bus_receiver is None
                        else SQLITE_CHANGE_POLL_WITH_BUS_S
                    )
            except Exception as exc:  # the file may be briefly unavailable; keep watching
                log.warning("watching the SQLite database failed: %s", exc)
                seen = None
                await self._pause(1.0)
            finally:
                await watch.close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._watch_stop.wait(), timeout=seconds)

    async def _reconnect_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(RECONNECT_DELAY_S)
            try:
                await self._connect()
            except Exception as exc:  # refused, starting up, timed out: keep trying
                log.warning("LISTEN connection failed (%s); retrying", exc)
                continue
            self._connection_watch.succeeded()
            for channel in list(self._callbacks):  # anything may have been missed meanwhile
                self._dispatch(channel, "")
            return
