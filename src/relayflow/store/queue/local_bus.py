"""SQLite's NOTIFY: signals between the processes that share one database file.

PostgreSQL carries wake-ups between processes with LISTEN/NOTIFY; SQLite has
nothing of the kind, and watching `PRAGMA data_version` alone costs every
cross-process hand-off half a poll interval (the supervised `relayflow serve`
passes each run twice: API -> worker with the work signal, worker -> API with
its outcome). So every listening process binds a Unix datagram socket in one
directory per database file, and a process sends each committed signal to the
other sockets there: delivery is a `sendto` on this host, no polling.

The directory is beside the database file (`.relayflow.db.signals/` for
`relayflow.db`, shared by whatever shares the file, containers included), or
under the temp directory when that path would be too long for a socket. It is
created private to the user.

What is sent is only a wake-up, as with NOTIFY: the rows are durable before it,
and a lost datagram (a receiver whose buffer is full, a process that joins late)
only delays work until the data-version watch notices the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import itertools
import logging
import os
import socket
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

Deliver = Callable[[str, str], None]
DIRECTORY_SUFFIX = ".signals"
# Linux allows 107 bytes of socket path; keep room for the socket's own name.
MAX_DIRECTORY_PATH = 80
# A datagram stays well under the default socket buffer (about 200 kB).
MAX_DATAGRAM = 32 * 1024
_names = itertools.count()


def bus_directory(database: str) -> Path:
    """Where the sockets of the processes sharing `database` live."""
    path = Path(database).resolve()
    beside = path.parent / f".{path.name}{DIRECTORY_SUFFIX}"  # one per database file
    if len(str(beside)) <= MAX_DIRECTORY_PATH:
        return beside
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"relayflow-signals-{os.getuid()}-{digest}"


def encode(signals: Iterable[tuple[str, str]]) -> list[bytes]:
    """Datagrams of `channel \\t payload` lines, each under MAX_DATAGRAM."""
    datagrams: list[bytes] = []
    current = bytearray()
    for channel, payload in signals:
        line = f"{channel}\t{payload}\n".encode()
        if current and len(current) + len(line) > MAX_DATAGRAM:
            datagrams.append(bytes(current))
            current = bytearray()
        current += line
    if current:
        datagrams.append(bytes(current))
    return datagrams


def decode(datagram: bytes) -> list[tuple[str, str]]:
    signals = []
    for line in datagram.decode(errors="replace").splitlines():
        channel, tab, payload = line.partition("\t")
        if tab:
            signals.append((channel, payload))
    return signals


class LocalBus:
    """The sockets of one database file: sends to the others, receives for this process."""

    def __init__(self, database: str) -> None:
        self.directory = bus_directory(database)
        self._sender: socket.socket | None = None
        self._peers: list[str] = []
        self._peers_seen: int | None = None  # the directory's mtime when last listed
        self._own: set[str] = set()  # this bus's receiving sockets (they get the hub)
        self._receivers: list[Receiver] = []

    def send(self, signals: Iterable[tuple[str, str]]) -> None:
        """To every other listening process; never raises (a lost wake-up only delays)."""
        try:
            peers = self._listed_peers()
            if not peers:
                return
            if self._sender is None:
                self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sender.setblocking(False)
            datagrams = encode(signals)
        except OSError:
            return
        for peer in peers:
            for datagram in datagrams:
                try:
                    self._sender.sendto(datagram, peer)
                except BlockingIOError:
                    break  # its buffer is full: the data-version watch covers it
                except OSError as exc:
                    self._forget(peer, exc)
                    break

    def receive(self, deliver: Deliver) -> Receiver | None:
        """Bind a socket for this process and hand what arrives to `deliver` on the
        running loop. None when no socket could be bound (then only the watch works)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            name = str(self.directory / f"{os.getpid()}.{next(_names)}")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)  # a previous process of the same pid
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.bind(name)
            os.chmod(name, 0o600)
        except OSError as exc:
            log.warning("cannot listen for signals in %s: %s", self.directory, exc)
            return None
        receiver = Receiver(self, sock, name, deliver, asyncio.get_running_loop())
        self._receivers.append(receiver)
        self._own.add(name)
        self._peers_seen = None
        return receiver

    def close(self) -> None:
        for receiver in list(self._receivers):
            receiver.close()
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    def forget_receiver(self, receiver: Receiver, name: str) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)
        self._own.discard(name)
        self._peers_seen = None

    # ------------------------------------------------------------ internals
    def _listed_peers(self) -> list[str]:
        """The other sockets, listed again whenever the directory changed."""
        try:
            seen = self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        if seen != self._peers_seen:
            self._peers = [
                entry.path
                for entry in os.scandir(self.directory)
                if entry.path not in self._own and _is_socket(entry)
            ]
            self._peers_seen = seen
        return self._peers

    def _forget(self, peer: str, exc: OSError) -> None:
        if exc.errno == errno.ECONNREFUSED:  # nobody reads it: its process is gone
            with contextlib.suppress(OSError):
                os.unlink(peer)
        if peer in self._peers:
            self._peers.remove(peer)


def _is_socket(entry: os.DirEntry[str]) -> bool:
    """A receiver's socket (the directory also holds the write turns' lock file)."""
    try:
        return stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return False


class Receiver:
    """One bound socket, read on its event loop."""

    def __init__(
        self,
        bus: LocalBus,
        sock: socket.socket,
        name: str,
        deliver: Deliver,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._bus = bus
        self._sock = sock
        self._name = name
        self._deliver = deliver
        self._loop = loop
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        while True:
            try:
                datagram = self._sock.recv(MAX_DATAGRAM + 1024)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                log.warning("reading signals failed", exc_info=True)
                return
            for channel, payload in decode(datagram):
                self._deliver(channel, payload)

    def close(self) -> None:
        if self._sock.fileno() < 0:
            return
        with contextlib.suppress(Exception):  # its loop may be closed already
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self._name)
        self._bus.forget_receiver(self, self._name)
