"""`relayflow serve` as a small supervisor: API and worker in separate processes.

One Python process runs on one core at a time (the GIL). `relayflow serve` with
its worker therefore starts child processes instead of running everything in
itself: `api_processes` API servers sharing one listening socket (bound here, so
a restarting API process loses no connection: they wait in the socket's backlog)
and one worker. The children are ordinary `relayflow serve --no-worker` and
`relayflow worker` commands; they find each other through the database
(LISTEN/NOTIFY on PostgreSQL, the local signal bus on SQLite).

- SIGTERM or SIGINT here is passed to every child as SIGTERM; each shuts down
  gracefully (the worker finishes or hands back its executions), and children
  still alive after the grace are killed. No child outlives the supervisor: on
  Linux each child also gets SIGTERM if the supervisor dies.
- A child that exits on its own is logged with its exit status and restarted
  after a short delay; one that exits `max_restarts` times within
  `restart_window_s` brings the whole server down, with a log line that says so.

`RELAYFLOW_SERVE_SINGLE_PROCESS=true` (`relayflow serve --single-process`) keeps
API and worker in one process instead. `relayflow serve --no-worker` with more than
one API process supervises those alone (the workers run elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Linux: the child gets SIGTERM when the supervisor dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ChildSpec:
    name: str  # "api", "api-2", "worker": for log lines
    args: list[str]  # after `python -m relayflow.cli`
    pass_fds: tuple[int, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # on top of this process's environment


@dataclass
class _Child:
    spec: ChildSpec
    process: asyncio.subprocess.Process | None = None
    exits: deque[float] = field(default_factory=deque)  # monotonic times of unplanned exits


class Supervisor:
    def __init__(
        self,
        specs: Sequence[ChildSpec],
        *,
        shutdown_grace_s: float,
        max_restarts: int = 5,
        restart_window_s: float = 60.0,
        restart_delay_s: float = RESTART_DELAY_S,
        executable: Sequence[str] = (sys.executable, "-m", "relayflow.cli"),
        on_started: Callable[[], None] | None = None,
    ) -> None:
        self._children = [_Child(spec) for spec in specs]
        self._grace_s = shutdown_grace_s
        self._max_restarts = max_restarts
        self._window_s = restart_window_s
        self._delay_s = restart_delay_s
        self._executable = list(executable)
        self._on_started = on_started
        self._stop = asyncio.Event()
        self.failure: str | None = None

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def pids(self) -> list[int]:
        return [c.process.pid for c in self._children if c.process and c.process.returncode is None]

    async def run(self) -> int:
        """Start the children, keep them up until told to stop; the exit status."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.request_stop)
        try:
            for child in self._children:
                await self._spawn(child)
            if self._on_started is not None:
                self._on_started()
            watchers = [asyncio.create_task(self._watch(child)) for child in self._children]
            await self._stop.wait()
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        finally:
            await self._stop_children()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
        if self.failure:
            log.error("relayflow stopped: %s", self.failure)
            return 1
        return 0

    async def _spawn(self, child: _Child) -> None:
        child.process = await asyncio.create_subprocess_exec(
            *self._executable,
            *child.spec.args,
            pass_fds=child.spec.pass_fds,
            env={**os.environ, **child.spec.env} if child.spec.env else None,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.info("started the %s process (pid %d)", child.spec.name, child.process.pid)

    async def _watch(self, child: _Child) -> None:
        while not self._stop.is_set():
            assert child.process is not None
            code = await child.process.wait()
            if self._stop.is_set():
                return
            now = time.monotonic()
            child.exits.append(now)
            while child.exits and now - child.exits[0] > self._window_s:
                child.exits.popleft()
            what = f"the {child.spec.name} process (pid {child.process.pid}) {_exit_text(code)}"
            if len(child.exits) >= self._max_restarts:
                self.failure = (
                    f"{what}, its {len(child.exits)}th exit within {self._window_s:g} s; "
                    "stopping every process"
                )
                log.error("%s", self.failure)
                self._stop.set()
                return
            log.error("%s; restarting it in %g s", what, self._delay_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._delay_s)
            if self._stop.is_set():
                return
            await self._spawn(child)

    async def _stop_children(self) -> None:
        alive = [c.process for c in self._children if c.process and c.process.returncode is None]
        for process in alive:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if not alive:
            return
        log.info("stopping %d process(es)", len(alive))
        # The worker may take the whole grace finishing executions; a little more for exit.
        _done, pending = await asyncio.wait(
            [asyncio.create_task(p.wait()) for p in alive], timeout=self._grace_s + 5.0
        )
        for process in alive:
            if process.returncode is None:
                log.error("process %d did not stop in time; killing it", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with status {code}"


def listening_socket(host: str, port: int) -> socket.socket:
    """The API's socket, bound once here and shared by every API process."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def inherited_socket(fd: int) -> socket.socket:
    """The supervisor's listening socket in an API process, with its real family.

    uvicorn's own `fd=` option wraps any inherited socket as AF_UNIX; the event loop
    then sets no TCP_NODELAY on the connections it accepts, and a response written in
    two parts waits out the client's delayed ACK: 40 ms on every request.
    """
    return socket.socket(fileno=fd)


def serve_children(
    *,
    fd: int,
    api_processes: int,
    worker: bool = True,
    worker_name: str | None = None,
) -> list[ChildSpec]:
    """API processes on the shared socket `fd`, and one worker unless `worker` is off
    (the workers run elsewhere). The first API process runs the scheduler; the others
    leave it to that one."""
    specs = [
        ChildSpec(
            "api" if i == 0 else f"api-{i + 1}",
            ["serve", "--single-process", "--no-worker", "--no-migrate", "--fd", str(fd)],
            pass_fds=(fd,),
            env={} if i == 0 else {"RELAYFLOW_SCHEDULER_ENABLED": "false"},
        )
        for i in range(api_processes)
    ]
    if worker:
        command = ["worker", "--no-migrate"]
        if worker_name:
            command += ["--name", worker_name]
        specs.append(ChildSpec("worker", command))
    return specs
