"""SQLite: the queue's writers take turns at the write lock without sleeping.

SQLite lets one connection write at a time. A connection that finds the lock
taken waits in SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between
looks: under load the API's inserts slept a millisecond or more behind every
claim and run batch of the worker process, far longer than those held the lock.

The hot-path writers (`DirectSqlite.execute` and `.transaction`) therefore take an
exclusive `flock` of one file per database first, waiting in the kernel (the
thread gives up the GIL), which hands the turn on the moment its holder lets go.
Other writers (the API's sessions, the CLI, a backup tool) do not take turns and
still meet the busy handler; they are not on the hot path.

A turn is held only around one transaction, on the thread that runs it; a
process that dies holding it loses it with its file descriptor. One that stops
(SIGSTOP, a frozen VM) keeps it: a call still waiting for its turn after the busy
timeout then fails with SQLite's own "database is locked", as it would waiting
for SQLite's write lock, and is never run later.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from relayflow.store.queue.local_bus import bus_directory

T = TypeVar("T")
LOCK_NAME = "write.lock"


def turns_file(database: str) -> Path:
    """The file whose lock is the turn, in the database's private signals directory."""
    return bus_directory(database) / LOCK_NAME


class WriteTurns:
    """One writer's place in the queue for a database's write lock.

    Each writer opens the file itself: `flock` locks belong to an open file, so two
    writers of one process exclude each other as writers of two processes do.
    """

    def __init__(self, database: str) -> None:
        self._path = turns_file(database)
        self._fd: int | None = None

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for the turn (blocking this thread), hold it for the block."""
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _open(self) -> int:
        if self._fd is None:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class _Call:
    """One call's state, shared by the caller (who may give up) and the thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "waiting"

    def start(self) -> bool:
        with self._lock:
            if self._state == "abandoned":
                return False
            self._state = "running"
            return True

    def abandon(self) -> bool:
        """Give up unless it already runs; True if it never will."""
        with self._lock:
            if self._state == "running":
                return False
            self._state = "abandoned"
            return True


class TurnThread:
    """A thread of its own for one SQLite connection's calls, writes in their turn."""

    def __init__(self, database: str, *, timeout_s: float, name: str) -> None:
        self._turns = WriteTurns(database)
        self._timeout_s = timeout_s
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=name)

    async def run(self, work: Callable[[], T], *, write: bool) -> T:
        """`work()` on the thread (a write: in its turn). A call that has not started
        within the busy timeout fails with "database is locked" and never runs."""
        loop = asyncio.get_running_loop()
        call = _Call()
        done: asyncio.Future[T] = loop.create_future()
        self._thread.submit(self._perform, call, work, write, loop, done)
        timer = loop.call_later(self._timeout_s, self._expire, call, done)
        try:
            return await done
        finally:
            timer.cancel()
            if done.cancelled():  # the caller was cancelled: do not run it later
                call.abandon()

    def _expire(self, call: _Call, done: asyncio.Future[Any]) -> None:
        if call.abandon() and not done.done():  # else it has its turn: let it finish
            done.set_exception(
                sqlite3.OperationalError(
                    f"database is locked: waited {self._timeout_s:g} s for the write turn "
                    "(sqlite_busy_timeout_s)"
                )
            )

    def _perform(
        self,
        call: _Call,
        work: Callable[[], T],
        write: bool,
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[T],
    ) -> None:
        try:
            with self._turns.turn() if write else contextlib.nullcontext():
                if not call.start():
                    return  # given up on: never run
                result = work()
        except BaseException as exc:
            _answer(loop, _fail, done, exc)
        else:
            _answer(loop, _succeed, done, result)

    async def close(self, last: Callable[[], None]) -> None:
        """Run `last` on the thread (closing its connection), then stop it."""
        await asyncio.get_running_loop().run_in_executor(self._thread, last)
        self._thread.shutdown(wait=False)
        self._turns.close()


def _answer(loop: asyncio.AbstractEventLoop, settle: Any, done: Any, value: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle, done, value)


def _succeed(done: asyncio.Future[T], result: T) -> None:
    if not done.done():
        done.set_result(result)


def _fail(done: asyncio.Future[Any], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)
