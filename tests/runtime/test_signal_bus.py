"""SQLite's signals between processes (`store.queue.local_bus`): what one process
commits wakes the others on the same database file as it is sent, with its payload,
not at the next look of the data-version watch."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from relayflow.runtime import notifications as notifications_module
from relayflow.runtime.notifications import Notifications
from relayflow.store.db import Database
from relayflow.store.migrate import upgrade
from relayflow.store.queue import signals
from relayflow.store.queue.local_bus import MAX_DATAGRAM, LocalBus, bus_directory, decode, encode
from tests.support.databases import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="SQLite's bus (RELAYFLOW_TEST_DB=sqlite)"
)


@pytest.fixture
async def two_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Database, Database]]:
    """Two Databases on one file: to the bus, two processes (each has its own sockets)."""
    # The watch would only ever say "" (look again), and not within these tests.
    monkeypatch.setattr(notifications_module, "SQLITE_CHANGE_POLL_WITH_BUS_S", 60.0)
    url = f"sqlite+aiosqlite:///{tmp_path}/relayflow.db"
    first, second = Database(url), Database(url)
    await upgrade(first)
    yield first, second
    await first.dispose()
    await second.dispose()


@asynccontextmanager
async def listening(
    db: Database, channel: str
) -> AsyncIterator[tuple[Notifications, asyncio.Queue[str]]]:
    """A process listening to `channel`: what it hears, until the block ends."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    notifications = Notifications(db)
    notifications.add(channel, heard.put_nowait)
    await notifications.listen(channel)
    await notifications.start()
    try:
        yield notifications, heard
    finally:
        await notifications.stop()


async def test_a_committed_signal_reaches_the_other_process_with_its_payload(
    two_processes: tuple[Database, Database],
) -> None:
    sender, receiver = two_processes
    async with listening(receiver, signals.OUTCOMES) as (_, heard):
        async with sender.transaction() as session:
            await signals.signal(session, signals.OUTCOMES, "4c0f5a3e-1b7e-4d55-9a43-0c0c1d1e2f30")
        payload = await asyncio.wait_for(heard.get(), timeout=5)

    assert payload == "4c0f5a3e-1b7e-4d55-9a43-0c0c1d1e2f30"


async def test_a_rolled_back_signal_is_never_sent(
    two_processes: tuple[Database, Database],
) -> None:
    sender, receiver = two_processes
    async with listening(receiver, signals.WORK) as (_, heard):
        async with sender.session() as session:
            await signals.signal(session, signals.WORK, "rolled back")
            await session.rollback()
        async with sender.transaction() as session:
            await signals.signal(session, signals.WORK, "committed")
        payload = await asyncio.wait_for(heard.get(), timeout=5)

    assert payload == "committed"
    assert heard.empty()


async def test_only_the_channels_a_process_listens_to_are_delivered(
    two_processes: tuple[Database, Database],
) -> None:
    sender, receiver = two_processes
    cancelled: list[str] = []
    async with listening(receiver, signals.WORK) as (notifications, heard):
        notifications.add(signals.CANCEL, cancelled.append)  # registered, never listened to
        async with sender.transaction() as session:
            await signals.signal(session, signals.CANCEL, "not for this process")
            await signals.signal(session, signals.WORK)
        assert await asyncio.wait_for(heard.get(), timeout=5) == ""

    assert cancelled == []


async def test_a_stopped_process_leaves_no_socket_behind(
    two_processes: tuple[Database, Database],
) -> None:
    _, receiver = two_processes
    directory = bus_directory(receiver.url.split("///", 1)[1])
    async with listening(receiver, signals.WORK):
        assert len(list(directory.iterdir())) == 1

    assert list(directory.iterdir()) == []


async def test_the_socket_of_a_process_that_died_is_removed_on_the_next_send(
    tmp_path: Path,
) -> None:
    bus = LocalBus(str(tmp_path / "relayflow.db"))
    bus.directory.mkdir(mode=0o700)
    dead = bus.directory / "12345.0"
    orphan = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    orphan.bind(str(dead))
    orphan.close()  # killed: its socket file stays, nobody reads it

    bus.send([(signals.WORK, "")])
    bus.close()

    assert not dead.exists()


def test_long_payloads_are_split_into_datagrams_that_decode_to_the_same_signals() -> None:
    sent = [(signals.EVENTS, ",".join(f"{i:036d}" for i in range(200))) for _ in range(20)]
    sent.append((signals.WORK, ""))

    datagrams = encode(sent)

    assert len(datagrams) > 1
    assert all(len(datagram) <= MAX_DATAGRAM for datagram in datagrams)
    assert [signal for datagram in datagrams for signal in decode(datagram)] == sent


def test_a_database_path_too_long_for_a_socket_uses_the_temp_directory(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "relayflow.db"

    directory = bus_directory(str(deep))

    assert len(str(directory / "4194304.999")) < 104  # Linux's limit is 107 bytes
    assert directory == bus_directory(str(deep))  # every process finds the same one
    assert str(os.getuid()) in directory.name


def test_two_database_files_in_one_directory_have_separate_buses(tmp_path: Path) -> None:
    first = bus_directory(str(tmp_path / "a.db"))
    second = bus_directory(str(tmp_path / "b.db"))

    assert first != second
    assert first.parent == second.parent == tmp_path.resolve()
