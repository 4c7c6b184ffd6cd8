"""Waiting for an execution's outcome (`?wait=SECONDS` on webhooks and API starts).

A waiting request is woken the moment its execution settles (finishes, or pauses
for an approval), never by polling and without re-reading events:
- in the process that ran it: the queue calls back once the outcome committed,
  with the status payload itself (`Queue.settled`); nothing is read;
- from another process: the notification on `signals.SETTLED` carries the
  payload, so nothing is read either; one on `signals.OUTCOMES` (a payload too
  large for a notification, or a settlement outside the worker's run batches)
  names the execution, and its row is read once. (On SQLite the commit watch,
  the safety net for a lost signal, makes the waiting requests re-read their rows.)
Executions settled recently are remembered briefly, so a notification that
arrives before the request starts waiting is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, select

from relayflow.domain import ExecutionStatus
from relayflow.runtime.notifications import Notifications
from relayflow.store.db import Database
from relayflow.store.models import Execution
from relayflow.store.queue import signals
from relayflow.stored_json import load_stored_json

log = logging.getLogger(__name__)

STATUS_EVENT = "execution.status"
# How many recently settled executions to remember (a few seconds at full speed).
RECENT = 4096
_executions = cast(Table, Execution.__table__)
_UNKNOWN = object()


def _parsed(payload: Mapping[str, Any] | str | None) -> Mapping[str, Any] | None:
    """A remembered payload, parsed if it came as JSON; None if it must be read."""
    if isinstance(payload, str):
        found = load_stored_json(payload)
        return found if isinstance(found, dict) else None
    return payload


def is_final(payload: Mapping[str, Any]) -> bool:
    try:
        return ExecutionStatus(str(payload.get("status"))).is_final
    except ValueError:
        return False


class Outcomes:
    """The requests of this process waiting for executions to settle. One per process."""

    def __init__(self, db: Database, notifications: Notifications) -> None:
        self._db = db
        self._notifications = notifications
        self._waiters: dict[uuid.UUID, set[asyncio.Future[Mapping[str, Any] | None]]] = defaultdict(
            set
        )
        # Settled recently: the status payload (a str: its JSON, not parsed yet), or None
        # when only notified (read the row).
        self._recent: OrderedDict[uuid.UUID, Mapping[str, Any] | str | None] = OrderedDict()
        # Ids to look up, read together by one task at a time.
        self._to_check: set[uuid.UUID] = set()
        self._checker: asyncio.Task[None] | None = None
        self._listening = False

    async def start(self) -> None:
        self._db.queue.settled.add(self._settled)
        self._notifications.add(signals.OUTCOMES, self._on_notified)
        self._notifications.add(signals.SETTLED, self._on_settled_elsewhere)

    async def stop(self) -> None:
        self._db.queue.settled.remove(self._settled)
        self._notifications.remove(signals.OUTCOMES, self._on_notified)
        self._notifications.remove(signals.SETTLED, self._on_settled_elsewhere)
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)

    async def wait(
        self,
        execution_id: uuid.UUID,
        timeout_s: float,
        *,
        final_only: bool = False,
        read_first: bool = False,
    ) -> Mapping[str, Any] | None:
        """The status payload (`{status, output?, error?, waiting_on?}`) once the execution
        settled (with `final_only`, once it finished), or None at the timeout.

        `read_first`: the execution may have settled before this call (an idempotent
        replay), so its row is read before waiting.
        """
        if timeout_s <= 0:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        known: Any = self._recent.get(execution_id, _UNKNOWN)
        if not self._listening:
            # The first wait of this process: listen (a worker process never does),
            # then read once, for what settled before the listener was up.
            await self._notifications.listen(signals.OUTCOMES)
            await self._notifications.listen(signals.SETTLED)
            self._listening = True
            read_first = True
        if known is _UNKNOWN and read_first:
            known = None
        while True:
            # Listed as waiting before any read: an announcement during the read is kept.
            future: asyncio.Future[Mapping[str, Any] | None] = loop.create_future()
            self._waiters[execution_id].add(future)
            try:
                payload: Mapping[str, Any] | None = None
                if known is not _UNKNOWN:
                    payload = _parsed(known) or await self._read(execution_id)
                    known = _UNKNOWN
                    if payload is None and not await self._exists(execution_id):
                        return None
                if payload is None:  # not settled yet: wait for its announcement
                    try:
                        async with asyncio.timeout_at(deadline):
                            payload = await future
                    except TimeoutError:
                        return None
                    if payload is None:
                        return None  # the process stops
            finally:
                self._forget(execution_id, future)
            if not final_only or is_final(payload):
                return payload
            if loop.time() >= deadline:
                return None

    # ------------------------------------------------------------ announcements
    def _settled(self, execution_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        """In process, right after the commit, with the payload."""
        self._remember(execution_id, payload)
        for future in list(self._waiters.get(execution_id, ())):
            if not future.done():
                future.set_result(payload)

    def _on_settled_elsewhere(self, payload: str) -> None:
        """From another process: `<id> <status payload as JSON>`, or "" (look again)."""
        raw_id, _, text = payload.partition(" ")
        try:
            execution_id = uuid.UUID(raw_id)
        except ValueError:
            if not payload:
                self._on_notified("")
            return
        if not text:
            return
        if all(future.done() for future in self._waiters.get(execution_id, ())):
            # Nobody waits (or all were answered in process): parsed only if one comes.
            self._remember(execution_id, text)
        elif (parsed := _parsed(text)) is not None:
            self._settled(execution_id, parsed)
        else:
            self._on_notified(raw_id)  # unreadable here: read the row

    def _on_notified(self, payload: str) -> None:
        """From any process: ids that settled, or "" (look again at every waiter)."""
        if payload:
            ids = []
            for part in payload.split(","):
                with contextlib.suppress(ValueError):
                    ids.append(uuid.UUID(part))
        else:
            ids = list(self._waiters)
        for execution_id in ids:
            if self._waiters.get(execution_id):
                self._to_check.add(execution_id)
            elif payload and execution_id not in self._recent:
                self._remember(execution_id, None)
        if self._to_check and (self._checker is None or self._checker.done()):
            self._checker = asyncio.get_running_loop().create_task(self._check())

    async def _check(self) -> None:
        """Read the rows of the waiting executions named, many per statement."""
        while self._to_check:
            batch, self._to_check = self._to_check, set()
            # Not those settled in process meanwhile.
            ids = [i for i in batch if any(not f.done() for f in self._waiters.get(i, ()))]
            if not ids:
                continue
            try:
                found = await self._read_many(ids)
            except Exception:
                log.warning("could not read the outcomes of %d executions", len(ids), exc_info=True)
                continue
            for execution_id, payload in found.items():
                self._settled(execution_id, payload)

    def _remember(self, execution_id: uuid.UUID, payload: Mapping[str, Any] | str | None) -> None:
        self._recent[execution_id] = payload
        self._recent.move_to_end(execution_id)
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)

    def _forget(self, execution_id: uuid.UUID, future: asyncio.Future[Any]) -> None:
        futures = self._waiters.get(execution_id)
        if futures is not None:
            futures.discard(future)
            if not futures:
                del self._waiters[execution_id]

    # ------------------------------------------------------------ reading
    async def _read(self, execution_id: uuid.UUID) -> Mapping[str, Any] | None:
        """The execution's status payload if it settled, else None."""
        return (await self._read_many([execution_id])).get(execution_id)

    async def _read_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Mapping[str, Any]]:
        """The status payloads of those of these executions that settled."""
        return dict(await self._db.queue.settled_outcomes(ids))

    async def _exists(self, execution_id: uuid.UUID) -> bool:
        async with self._db.session() as session:
            found = await session.execute(
                select(_executions.c.id).where(_executions.c.id == execution_id)
            )
            return found.first() is not None
