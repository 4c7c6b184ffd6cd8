"""Wake-up signals between sessions: NOTIFY on PostgreSQL, an in-process hub on SQLite.

PostgreSQL delivers `NOTIFY` to every listening process when the transaction
commits. SQLite has no such thing, so a signal raised in a session is fired to
callbacks registered in this process, after that session commits (never for a
rollback). Processes on SQLite that do not share memory fall back to polling.

Channels: `relayflow_work` (pending executions exist), `relayflow_cancel`
(payload: an execution id), `relayflow_events` (payload: execution ids with new
events), `relayflow_slots` (a provider slot was released).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

WORK = "relayflow_work"
CANCEL = "relayflow_cancel"
EVENTS = "relayflow_events"
SLOTS = "relayflow_slots"

Callback = Callable[[str], None]
_INFO_KEY = "relayflow.signals"


def database_key(url: str) -> str:
    """Identifies one database across engines of the same process."""
    return make_url(url).render_as_string(hide_password=True)


class LocalHub:
    """Callbacks per (database, channel) inside this process."""

    def __init__(self) -> None:
        self._callbacks: dict[tuple[str, str], list[Callback]] = defaultdict(list)

    def add(self, url: str, channel: str, callback: Callback) -> None:
        self._callbacks[(database_key(url), channel)].append(callback)

    def remove(self, url: str, channel: str, callback: Callback) -> None:
        callbacks = self._callbacks.get((database_key(url), channel), [])
        if callback in callbacks:
            callbacks.remove(callback)

    def fire(self, key: str, channel: str, payload: str) -> None:
        for callback in list(self._callbacks.get((key, channel), ())):
            callback(payload)


local_hub = LocalHub()


def _bind_of(session: AsyncSession | Session) -> Engine | Connection:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    bind = sync.get_bind()
    return bind


def is_postgres_session(session: AsyncSession | Session) -> bool:
    return _bind_of(session).dialect.name == "postgresql"


async def signal(session: AsyncSession, channel: str, payload: str = "") -> None:
    """Raise `channel` when the session's transaction commits."""
    if is_postgres_session(session):
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
        )
        return
    bind = _bind_of(session)
    engine = bind.engine if isinstance(bind, Connection) else bind
    key = database_key(engine.url.render_as_string(hide_password=False))
    pending: set[tuple[str, str, str]] = session.sync_session.info.setdefault(_INFO_KEY, set())
    pending.add((key, channel, payload))


@event.listens_for(Session, "after_commit")
def _fire_after_commit(session: Session) -> None:
    pending: set[tuple[str, str, str]] | None = session.info.pop(_INFO_KEY, None)
    for key, channel, payload in sorted(pending or ()):
        local_hub.fire(key, channel, payload)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session, *_: Any) -> None:
    session.info.pop(_INFO_KEY, None)
